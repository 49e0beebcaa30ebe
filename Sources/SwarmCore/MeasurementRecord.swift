// why: `Data` appears in the public payload field.
public import Foundation

/// A measurement as the server stores it: indexed columns plus the typed result message.
///
/// `payload` is the protobuf encoding of the probe kind's result message
/// (`streamswarm.mesh.v1.TcpResult`, `SystemResult`, …), so the stored form is typed and
/// decodable by any protobuf runtime; `value` is the kind's headline figure for fast charts.
public struct MeasurementRecord: Sendable, Hashable {
    public var testID: TestID
    public var revision: Int
    public var agent: AgentName
    /// Unique per agent, assigned by the agent's spool.
    public var sequence: UInt64
    public var kind: ProbeKind
    public var startedAt: Timestamp
    public var duration: Duration
    public var status: MeasurementStatus
    public var reason: String
    public var value: Double?
    public var payload: Data

    public init(
        testID: TestID,
        revision: Int,
        agent: AgentName,
        sequence: UInt64,
        kind: ProbeKind,
        startedAt: Timestamp,
        duration: Duration,
        status: MeasurementStatus,
        reason: String = "",
        value: Double? = nil,
        payload: Data = Data()
    ) {
        self.testID = testID
        self.revision = revision
        self.agent = agent
        self.sequence = sequence
        self.kind = kind
        self.startedAt = startedAt
        self.duration = duration
        self.status = status
        self.reason = reason
        self.value = value
        self.payload = payload
    }
}

/// A batch received from an agent, ready to commit.
public struct IncomingBatch: Sendable {
    public var agent: AgentName
    public var batchID: UInt64
    public var measurements: [MeasurementRecord]
    public init(agent: AgentName, batchID: UInt64, measurements: [MeasurementRecord]) {
        self.agent = agent
        self.batchID = batchID
        self.measurements = measurements
    }
}

/// The result of committing one batch.
public struct BatchCommitResult: Sendable, Hashable {
    public var batchID: UInt64
    public var storedCount: Int
    /// Measurements dropped because their test is not assigned to the sending agent.
    public var rejectedCount: Int
    /// True when (agent, batch id) had been committed before: nothing was written again.
    public var duplicate: Bool
    public init(batchID: UInt64, storedCount: Int, rejectedCount: Int = 0, duplicate: Bool) {
        self.batchID = batchID
        self.storedCount = storedCount
        self.rejectedCount = rejectedCount
        self.duplicate = duplicate
    }
}
