// why: records expose SwarmCore types (AgentName, TestSpec, Timestamp) in their public fields.
public import SwarmCore

/// An agent as the store knows it: identity, host facts and observed state.
public struct AgentRecord: Sendable, Hashable {
    public var name: AgentName
    public var firstSeen: Timestamp?
    public var lastSeen: Timestamp?
    public var online: Bool
    /// When the agent was last marked offline (nil while online or never seen).
    public var wentOfflineAt: Timestamp?
    public var agentVersion: String
    public var host: HostFacts?
    public var load: LoadSnapshot?
    public var lastAckedBatchID: UInt64
    public var sessionID: String

    public init(
        name: AgentName,
        firstSeen: Timestamp? = nil,
        lastSeen: Timestamp? = nil,
        online: Bool = false,
        wentOfflineAt: Timestamp? = nil,
        agentVersion: String = "",
        host: HostFacts? = nil,
        load: LoadSnapshot? = nil,
        lastAckedBatchID: UInt64 = 0,
        sessionID: String = ""
    ) {
        self.name = name
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.online = online
        self.wentOfflineAt = wentOfflineAt
        self.agentVersion = agentVersion
        self.host = host
        self.load = load
        self.lastAckedBatchID = lastAckedBatchID
        self.sessionID = sessionID
    }
}

/// A session opened: what the server learnt from `Hello`.
public struct SessionStart: Sendable {
    public var agent: AgentName
    public var sessionID: String
    public var agentVersion: String
    public var host: HostFacts
    public var at: Timestamp
    public init(agent: AgentName, sessionID: String, agentVersion: String, host: HostFacts, at: Timestamp) {
        self.agent = agent
        self.sessionID = sessionID
        self.agentVersion = agentVersion
        self.host = host
        self.at = at
    }
}

/// Observed state of a live agent, written coalesced (never one write per heartbeat).
public struct AgentStatusUpdate: Sendable {
    public var agent: AgentName
    public var lastSeen: Timestamp
    public var load: LoadSnapshot?
    public init(agent: AgentName, lastSeen: Timestamp, load: LoadSnapshot?) {
        self.agent = agent
        self.lastSeen = lastSeen
        self.load = load
    }
}

/// The lifecycle state of a test.
public enum TestState: String, Sendable, Hashable, Codable, CaseIterable {
    case active, cancelled
}

/// A test with its current revision and assignment.
public struct TestRecord: Sendable, Hashable {
    public var id: TestID
    public var revision: Int
    public var spec: TestSpec
    public var state: TestState
    public var agents: [AgentName]
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: TestID,
        revision: Int,
        spec: TestSpec,
        state: TestState,
        agents: [AgentName],
        createdAt: Timestamp,
        updatedAt: Timestamp
    ) {
        self.id = id
        self.revision = revision
        self.spec = spec
        self.state = state
        self.agents = agents
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A time range, half-open: `from ..< to`, in UTC nanoseconds.
public struct TimeRange: Sendable, Hashable {
    public var from: Timestamp
    public var to: Timestamp
    public init(from: Timestamp, to: Timestamp) {
        self.from = from
        self.to = to
    }
    public static var all: TimeRange {
        TimeRange(from: Timestamp(unixNanos: .min), to: Timestamp(unixNanos: .max))
    }
}

/// Something in the store changed that other parts (the mesh server, the gateway) may act on.
public enum StoreChange: Sendable, Hashable {
    /// A test was created, revised or cancelled; the listed agents' assignments may differ now.
    case assignmentsChanged(test: TestID, agents: [AgentName])
    /// Tests changed in a way this process did not see (another process wrote the database);
    /// every live session should reconcile.
    case testsChanged
}
