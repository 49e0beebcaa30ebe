// why: messages carry SwarmCore domain types in their public fields.
public import Foundation
public import SwarmCore

/// The mesh protocol v1 version number this build speaks.
public let meshProtocolVersion: UInt32 = 1
/// The ALPN protocol name of mesh protocol v1.
public let meshALPN = "streamswarm/1"

/// A mesh protocol v1 message in domain form. `MeshCodec` maps it to and from the wire `Frame`.
public enum MeshMessage: Sendable {
    case hello(Mesh.Hello)
    case welcome(Mesh.Welcome)
    case heartbeat(Mesh.Heartbeat)
    case heartbeatAck(Mesh.HeartbeatAck)
    case assignment(Mesh.Assignment)
    case assignmentAck(Mesh.AssignmentAck)
    case cancel(Mesh.Cancel)
    case resultBatch(Mesh.ResultBatch)
    case batchAck(Mesh.BatchAck)
    case goodbye(Mesh.Goodbye)
    case error(Mesh.ErrorMessage)

    /// The message's name as the .proto spells it, for logs and errors.
    public var name: String {
        switch self {
        case .hello: "Hello"
        case .welcome: "Welcome"
        case .heartbeat: "Heartbeat"
        case .heartbeatAck: "HeartbeatAck"
        case .assignment: "TestAssignment"
        case .assignmentAck: "AssignmentAck"
        case .cancel: "TestCancel"
        case .resultBatch: "ResultBatch"
        case .batchAck: "BatchAck"
        case .goodbye: "Goodbye"
        case .error: "Error"
        }
    }
}

/// Namespace for the domain forms of the mesh messages.
public enum Mesh {
    public struct AssignmentRef: Sendable, Hashable {
        public var testID: TestID
        public var revision: Int
        public init(testID: TestID, revision: Int) {
            self.testID = testID
            self.revision = revision
        }
    }

    public struct Hello: Sendable {
        public var protocolVersion: UInt32
        public var agentVersion: String
        public var host: HostFacts
        public var capabilities: [ProbeKind]
        public var lastAckedBatchID: UInt64
        public var spoolDepth: UInt64
        public var running: [AssignmentRef]
        public init(
            protocolVersion: UInt32 = meshProtocolVersion,
            agentVersion: String,
            host: HostFacts,
            capabilities: [ProbeKind],
            lastAckedBatchID: UInt64 = 0,
            spoolDepth: UInt64 = 0,
            running: [AssignmentRef] = []
        ) {
            self.protocolVersion = protocolVersion
            self.agentVersion = agentVersion
            self.host = host
            self.capabilities = capabilities
            self.lastAckedBatchID = lastAckedBatchID
            self.spoolDepth = spoolDepth
            self.running = running
        }
    }

    public struct Welcome: Sendable {
        public var sessionID: String
        public var agentName: String
        public var heartbeatInterval: Duration
        public var serverTime: Timestamp
        public var serverVersion: String
        public var maxFrameBytes: Int
        public var maxInFlightBatches: Int
        public var protocolVersion: UInt32
        /// The swarm's responder key; nil from a server that has none configured.
        public var responderKey: ResponderKey?
        /// The highest batch id stored from this agent: new batches are numbered above it.
        public var lastBatchID: UInt64
        public init(
            sessionID: String,
            agentName: String,
            heartbeatInterval: Duration,
            serverTime: Timestamp,
            serverVersion: String,
            maxFrameBytes: Int,
            maxInFlightBatches: Int,
            protocolVersion: UInt32 = meshProtocolVersion,
            responderKey: ResponderKey? = nil,
            lastBatchID: UInt64 = 0
        ) {
            self.responderKey = responderKey
            self.lastBatchID = lastBatchID
            self.sessionID = sessionID
            self.agentName = agentName
            self.heartbeatInterval = heartbeatInterval
            self.serverTime = serverTime
            self.serverVersion = serverVersion
            self.maxFrameBytes = maxFrameBytes
            self.maxInFlightBatches = maxInFlightBatches
            self.protocolVersion = protocolVersion
        }
    }

    public struct Heartbeat: Sendable {
        public var sequence: UInt64
        public var sentAt: Timestamp
        public var load: LoadSnapshot
        public init(sequence: UInt64, sentAt: Timestamp, load: LoadSnapshot) {
            self.sequence = sequence
            self.sentAt = sentAt
            self.load = load
        }
    }

    public struct HeartbeatAck: Sendable {
        public var sequence: UInt64
        public var agentSentAt: Timestamp
        public var serverReceivedAt: Timestamp
        public var serverSentAt: Timestamp
        public init(sequence: UInt64, agentSentAt: Timestamp, serverReceivedAt: Timestamp, serverSentAt: Timestamp) {
            self.sequence = sequence
            self.agentSentAt = agentSentAt
            self.serverReceivedAt = serverReceivedAt
            self.serverSentAt = serverSentAt
        }
    }

    /// A `TestAssignment`. During the snapshot after `Welcome` the server marks each with
    /// `snapshot`; the last one carries `lastOfSnapshot` (an empty snapshot is one frame with no test).
    public struct Assignment: Sendable {
        public var assignment: TestAssignment?
        public var snapshot: Bool
        public var lastOfSnapshot: Bool
        public init(assignment: TestAssignment?, snapshot: Bool = false, lastOfSnapshot: Bool = false) {
            self.assignment = assignment
            self.snapshot = snapshot
            self.lastOfSnapshot = lastOfSnapshot
        }
    }

    public struct AssignmentAck: Sendable {
        public var testID: TestID
        public var revision: Int
        public var accepted: Bool
        public var reason: String
        public init(testID: TestID, revision: Int, accepted: Bool, reason: String = "") {
            self.testID = testID
            self.revision = revision
            self.accepted = accepted
            self.reason = reason
        }
    }

    public struct Cancel: Sendable {
        public var testID: TestID
        public var revision: Int
        public var reason: String
        public init(testID: TestID, revision: Int, reason: String) {
            self.testID = testID
            self.revision = revision
            self.reason = reason
        }
    }

    /// A measurement as it arrives: everything but the agent, which comes from the certificate.
    public struct Measurement: Sendable {
        public var testID: TestID
        public var revision: Int
        public var sequence: UInt64
        public var kind: ProbeKind
        public var startedAt: Timestamp
        public var duration: Duration
        public var status: MeasurementStatus
        public var reason: String
        public var value: Double?
        public var figures: MeasurementFigures = MeasurementFigures()
        /// Serialized result message of `kind` (empty when the run produced none).
        public var payload: Data

        public func record(agent: AgentName) -> MeasurementRecord {
            MeasurementRecord(
                testID: testID,
                revision: revision,
                agent: agent,
                sequence: sequence,
                kind: kind,
                startedAt: startedAt,
                duration: duration,
                status: status,
                reason: reason,
                value: value,
                figures: figures,
                payload: payload
            )
        }
    }

    public struct ResultBatch: Sendable {
        public var batchID: UInt64
        public var measurements: [Measurement]
        public var createdAt: Timestamp
        /// Set when a measurement in the batch breaks the contract: the batch is refused as a whole
        /// (answered with a non-fatal `INVALID_BATCH` error) instead of ending the session, so one
        /// bad batch cannot wedge an agent that would otherwise replay it forever.
        public var invalidReason: String?

        public init(batchID: UInt64, measurements: [Measurement], createdAt: Timestamp, invalidReason: String? = nil) {
            self.batchID = batchID
            self.measurements = measurements
            self.createdAt = createdAt
            self.invalidReason = invalidReason
        }
    }

    public struct BatchAck: Sendable {
        public var batchID: UInt64
        public var storedCount: Int
        public var duplicate: Bool
        public init(batchID: UInt64, storedCount: Int, duplicate: Bool) {
            self.batchID = batchID
            self.storedCount = storedCount
            self.duplicate = duplicate
        }
    }

    public struct Goodbye: Sendable {
        public enum Reason: Sendable, Hashable { case unspecified, shutdown, drain, replaced, restart }
        public var reason: Reason
        public var message: String
        public var reconnectAfter: Duration
        /// With `drain`: the other servers' mesh addresses (HOST:PORT), most recently seen first.
        public var redirect: [String]
        public init(reason: Reason, message: String, reconnectAfter: Duration = .zero, redirect: [String] = []) {
            self.reason = reason
            self.message = message
            self.reconnectAfter = reconnectAfter
            self.redirect = redirect
        }
    }

    public struct ErrorMessage: Sendable {
        public enum Code: Sendable, Hashable {
            case unspecified, unsupportedProtocolVersion, malformedFrame, frameTooLarge, unknownFlags,
                unexpectedMessage, unauthenticated, revoked, invalidBatch, internalError, helloTimeout,
                tooManyInFlight, storeUnavailable, batchIDReused
        }
        public var code: Code
        public var message: String
        public var fatal: Bool
        public var batchID: UInt64
        /// With `.batchIDReused`: the highest batch id stored from this agent.
        public var lastBatchID: UInt64
        public init(code: Code, message: String, fatal: Bool, batchID: UInt64 = 0, lastBatchID: UInt64 = 0) {
            self.code = code
            self.message = message
            self.fatal = fatal
            self.batchID = batchID
            self.lastBatchID = lastBatchID
        }
    }
}
