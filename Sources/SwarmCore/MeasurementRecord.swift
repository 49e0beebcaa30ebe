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
    /// Secondary chart figures (loss, jitter, min–max spread), stored as columns so long ranges
    /// downsample in SQL without decoding payloads.
    public var figures: MeasurementFigures
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
        figures: MeasurementFigures = MeasurementFigures(),
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
        self.figures = figures
        self.payload = payload
    }
}

/// The figures charts need beside the headline value, read from the typed result at ingest.
public struct MeasurementFigures: Sendable, Hashable {
    /// Packet loss in percent (icmp, udp, traceroute's last hop).
    public var lossPercent: Double?
    /// RFC 3550 jitter in microseconds (icmp, udp).
    public var jitterMicros: Double?
    /// The lowest and highest sample inside the run (min/max RTT): the "smoke" spread.
    public var low: Double?
    public var high: Double?
    public init(lossPercent: Double? = nil, jitterMicros: Double? = nil, low: Double? = nil, high: Double? = nil) {
        self.lossPercent = lossPercent
        self.jitterMicros = jitterMicros
        self.low = low
        self.high = high
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

extension IncomingBatch {
    /// What makes two batches the same: FNV-1a over each measurement's test, sequence and start,
    /// in order. A replay of a batch has the same digest; a re-used id with other content does not.
    public var contentDigest: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ value: UInt64) {
            var v = value
            for _ in 0..<8 {
                hash = (hash ^ (v & 0xFF)) &* 0x100_0000_01b3
                v >>= 8
            }
        }
        for m in measurements {
            mix(UInt64(bitPattern: m.testID.rawValue))
            mix(m.sequence)
            mix(UInt64(bitPattern: m.startedAt.unixNanos))
        }
        return Int64(bitPattern: hash)
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
    /// True when (agent, batch id) had been committed before with other measurements: nothing
    /// was written, and the agent must renumber the batch (never ack it as a duplicate).
    public var idReused: Bool
    public init(batchID: UInt64, storedCount: Int, rejectedCount: Int = 0, duplicate: Bool, idReused: Bool = false) {
        self.batchID = batchID
        self.storedCount = storedCount
        self.rejectedCount = rejectedCount
        self.duplicate = duplicate
        self.idReused = idReused
    }
}
