// why: protocol requirements take and return SwarmCore types.
public import SwarmCore

/// Agents: identity, sessions and observed state.
public protocol AgentStore: Sendable {
    /// Records a new session (creating the agent on first contact) and marks it online.
    func recordSessionStart(_ start: SessionStart) async throws
    /// Writes the latest observed state of many agents in one go.
    func recordAgentStatus(_ updates: [AgentStatusUpdate]) async throws
    /// Marks an agent offline at `at`, unless a newer session (another `sessionID`) owns it now.
    func markOffline(_ agent: AgentName, sessionID: String, at: Timestamp) async throws
    func agents() async throws -> [AgentRecord]
    func agent(_ name: AgentName) async throws -> AgentRecord?
}

/// Tests, their revisions and which agents run them.
public protocol TestStore: Sendable {
    /// Stores a new test at revision 1, assigned to `agents`.
    /// - Throws: ``StoreError`` with code `.invalidInput` when the spec does not validate.
    func createTest(_ spec: TestSpec, agents: [AgentName]) async throws -> TestRecord
    /// Stores `spec` as the next revision of `id`.
    func reviseTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord
    /// Cancels a test: agents stop running it; its results stay.
    func cancelTest(_ id: TestID) async throws -> TestRecord
    func tests() async throws -> [TestRecord]
    func test(_ id: TestID) async throws -> TestRecord?
    /// The active tests assigned to `agent`, at their current revisions.
    func activeAssignments(for agent: AgentName) async throws -> [TestAssignment]
}

/// Measurements: atomic, idempotent batch ingest and time-range reads.
public protocol MeasurementStore: Sendable {
    /// Commits batches; each batch is all-or-nothing and deduplicated on (agent, batch id).
    ///
    /// Several batches may share one database transaction (group commit); a result is returned
    /// for every batch, in order, only after the data is durable.
    func commitBatches(_ batches: [IncomingBatch]) async throws -> [BatchCommitResult]
    /// Measurements of a test in a time range, at most `limit`: the oldest first, or with
    /// `newestFirst` the newest first (so "the latest N" does not read the whole series).
    func measurements(
        test: TestID,
        agent: AgentName?,
        range: TimeRange,
        limit: Int,
        newestFirst: Bool
    ) async throws -> [MeasurementRecord]
    func measurementCount(test: TestID?) async throws -> Int
}

/// Small key/value settings.
public protocol SettingsStore: Sendable {
    func setting(_ key: String) async throws -> String?
    func setSetting(_ key: String, value: String) async throws
}

/// Everything the server, gateway and CLI need from a backend.
public protocol Store: AgentStore, TestStore, MeasurementStore, SettingsStore {
    var changes: any ChangeFeed { get }
}

/// Notifies listeners of ``StoreChange``s: in-process for SQLite, LISTEN/NOTIFY for PostgreSQL.
public protocol ChangeFeed: Sendable {
    /// A new subscription; it ends when the returned stream is dropped or the feed shuts down.
    func subscribe() -> AsyncStream<StoreChange>
}

extension MeasurementStore {
    /// Measurements of a test in a time range, oldest first.
    public func measurements(
        test: TestID,
        agent: AgentName?,
        range: TimeRange,
        limit: Int
    ) async throws -> [MeasurementRecord] {
        try await measurements(test: test, agent: agent, range: range, limit: limit, newestFirst: false)
    }
}
