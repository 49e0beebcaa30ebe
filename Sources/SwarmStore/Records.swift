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
    /// Set when an admin revoked the agent: the mesh refuses its certificate from then on.
    public var revokedAt: Timestamp?

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
        sessionID: String = "",
        revokedAt: Timestamp? = nil
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
        self.revokedAt = revokedAt
    }
}

/// A session opened: what the server learnt from `Hello`.
public struct SessionStart: Sendable {
    public var agent: AgentName
    public var sessionID: String
    public var agentVersion: String
    public var host: HostFacts
    public var at: Timestamp
    /// The serial of the client certificate the session was admitted with (hex, as revoked.txt
    /// lists it); a revoke records it so the certificate stays refused.
    public var certificateSerial: String
    /// The server holding the session (``ServerPresence/id``); empty when not known.
    public var serverID: String
    public init(
        agent: AgentName,
        sessionID: String,
        agentVersion: String,
        host: HostFacts,
        at: Timestamp,
        certificateSerial: String = "",
        serverID: String = ""
    ) {
        self.agent = agent
        self.sessionID = sessionID
        self.agentVersion = agentVersion
        self.host = host
        self.at = at
        self.certificateSerial = certificateSerial
        self.serverID = serverID
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
    /// For a "new"-mode recurring test: the test this occurrence was made from.
    public var parentID: TestID?
    /// 0 for a test created by a person; n for the n-th child of a "new"-mode parent.
    public var occurrence: Int

    public init(
        id: TestID,
        revision: Int,
        spec: TestSpec,
        state: TestState,
        agents: [AgentName],
        createdAt: Timestamp,
        updatedAt: Timestamp,
        parentID: TestID? = nil,
        occurrence: Int = 0
    ) {
        self.id = id
        self.revision = revision
        self.spec = spec
        self.state = state
        self.agents = agents
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.parentID = parentID
        self.occurrence = occurrence
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
    /// A test was created, revised, cancelled or deleted; the listed agents' assignments may differ now.
    case assignmentsChanged(test: TestID, agents: [AgentName])
    /// Changes may have been missed (this process fell behind another process's changes, past
    /// what the backend keeps for it); every live session should reconcile and views refetch.
    case testsChanged
    /// An agent came online, went offline, was revoked or deleted.
    case agentChanged(AgentName)
    /// New measurements were stored for (test, agent).
    case measurementsStored(test: TestID, agent: AgentName, count: Int)
}

/// A page of tests for lists with search.
public struct TestQuery: Sendable, Hashable {
    /// Matches the name or target (host or URL), case-insensitive; empty matches all.
    public var text: String
    public var state: TestState?
    public var parent: TestID?
    /// Only tests whose current spec recurs in this mode.
    public var recurrence: TestSpec.Recurrence.Mode?
    public var limit: Int
    public var offset: Int
    public init(
        text: String = "",
        state: TestState? = nil,
        parent: TestID? = nil,
        recurrence: TestSpec.Recurrence.Mode? = nil,
        limit: Int = 50,
        offset: Int = 0
    ) {
        self.text = text
        self.state = state
        self.parent = parent
        self.recurrence = recurrence
        self.limit = limit
        self.offset = offset
    }
}

public struct TestPage: Sendable, Hashable {
    public var tests: [TestRecord]
    /// All tests the query matches, not only this page.
    public var total: Int
    public init(tests: [TestRecord], total: Int) {
        self.tests = tests
        self.total = total
    }
}

/// How far a test has got: what it has stored so far.
public struct TestProgress: Sendable, Hashable {
    public var results: Int
    public var lastResultAt: Timestamp?
    public init(results: Int, lastResultAt: Timestamp?) {
        self.results = results
        self.lastResultAt = lastResultAt
    }
}

/// One downsampled time bucket of a series: aggregates of the headline value and figures.
public struct SeriesBucket: Sendable, Hashable {
    public var agent: AgentName
    public var kind: ProbeKind
    public var start: Timestamp
    public var count: Int
    public var okCount: Int
    public var min: Double?
    public var avg: Double?
    public var max: Double?
    /// Lowest in-run low and highest in-run high: the "smoke" spread.
    public var low: Double?
    public var high: Double?
    public var lossPercent: Double?
    public var jitterMicros: Double?
    /// Percentiles of the ok values, from rollups only (raw buckets leave them nil); see
    /// ``SeriesAggregate`` for when they are approximate.
    public var p50: Double?
    public var p90: Double?
    public var p99: Double?
    public init(
        agent: AgentName,
        kind: ProbeKind,
        start: Timestamp,
        count: Int,
        okCount: Int,
        min: Double? = nil,
        avg: Double? = nil,
        max: Double? = nil,
        low: Double? = nil,
        high: Double? = nil,
        lossPercent: Double? = nil,
        jitterMicros: Double? = nil
    ) {
        self.agent = agent
        self.kind = kind
        self.start = start
        self.count = count
        self.okCount = okCount
        self.min = min
        self.avg = avg
        self.max = max
        self.low = low
        self.high = high
        self.lossPercent = lossPercent
        self.jitterMicros = jitterMicros
    }
}

/// What to downsample: one test (optionally one agent and kind) in a range, cut into buckets.
public struct SeriesQuery: Sendable, Hashable {
    public var test: TestID?
    public var agent: AgentName?
    /// Restricts to these kinds; empty means all.
    public var kinds: [ProbeKind]
    public var range: TimeRange
    public var bucket: Duration
    /// Raw rows, or rollups (with raw rows for the time after the rollup's watermark).
    public var resolution: SeriesResolution
    public init(
        test: TestID?,
        agent: AgentName? = nil,
        kinds: [ProbeKind] = [],
        range: TimeRange,
        bucket: Duration,
        resolution: SeriesResolution = .raw
    ) {
        self.test = test
        self.agent = agent
        self.kinds = kinds
        self.range = range
        self.bucket = bucket
        self.resolution = resolution
    }
}

/// A mesh server on the store, as it reports itself while it runs.
public struct ServerPresence: Sendable, Hashable {
    /// Unique per server process (a new one each start).
    public var id: String
    /// Where agents reach it (`host:port`), for operators.
    public var address: String
    public var version: String
    public var startedAt: Timestamp
    public var lastSeen: Timestamp
    public init(id: String, address: String, version: String, startedAt: Timestamp, lastSeen: Timestamp) {
        self.id = id
        self.address = address
        self.version = version
        self.startedAt = startedAt
        self.lastSeen = lastSeen
    }
}
