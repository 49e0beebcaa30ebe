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
    /// Forgets an offline agent (its results and assignments go with it). A revocation is not
    /// forgotten with it: the name and its certificate serials stay refused.
    /// - Throws: ``StoreError`` `.conflict` while it is online, `.notFound` when unknown.
    func deleteAgent(_ name: AgentName) async throws
    /// Marks an agent revoked: the mesh refuses it and closes its session. The revoked identity
    /// (name and last certificate serial) is kept apart from the agent row, so no delete undoes it.
    func revokeAgent(_ name: AgentName, at: Timestamp) async throws -> AgentRecord
    /// Whether an administrator revoked this agent name or this certificate serial.
    /// Admission must refuse the peer when this throws (fail closed).
    func isRevoked(_ name: AgentName, serial: String) async throws -> Bool
}

/// Servers that share the store, so each can tell when another died with agents still "online".
public protocol ServerPresenceStore: Sendable {
    /// Records that `server` is alive (insert or refresh).
    func recordServerAlive(_ server: ServerPresence) async throws
    /// The servers that reported since `since`, newest first.
    func servers(seenSince since: Timestamp) async throws -> [ServerPresence]
    /// Marks offline every online agent whose session is held by a server silent since before
    /// `silentSince` (it crashed: it cannot mark them itself), with an event naming the server.
    /// Returns the agents marked. Agents that reconnected elsewhere belong to that server now.
    func markAgentsOfDeadServersOffline(silentSince: Timestamp, at: Timestamp) async throws -> [AgentName]
}

/// Leases that let one server at a time run a job every server could (the recurrence scheduler,
/// the retention job); another takes over when the holder stops renewing.
public protocol LeaseStore: Sendable {
    /// Takes or renews the lease `name` for `holder` until `until`: granted when it is free, expired
    /// at `now`, or already `holder`'s. Returns whether `holder` holds it now.
    func acquireLease(_ name: String, holder: String, until: Timestamp, now: Timestamp) async throws -> Bool
    /// Gives the lease up early (a clean stop), so another holder need not wait for it to expire.
    func releaseLease(_ name: String, holder: String) async throws
}

/// Tests, their revisions and which agents run them.
public protocol TestStore: Sendable {
    /// Stores a new test at revision 1, assigned to `agents`.
    /// - Throws: ``StoreError`` with code `.invalidInput` when the spec does not validate.
    func createTest(_ spec: TestSpec, agents: [AgentName]) async throws -> TestRecord
    /// Stores occurrence `occurrence` of a "new"-mode recurring test as a child of `parent`.
    /// - Throws: ``StoreError`` `.conflict` when that occurrence exists already (another
    ///   scheduler made it), so several servers on one database never duplicate one.
    func createChildTest(_ spec: TestSpec, parent: TestID, occurrence: Int) async throws -> TestRecord
    /// Stores `spec` as the next revision of `id`.
    func reviseTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord
    /// Cancels a test: agents stop running it; its results stay.
    func cancelTest(_ id: TestID) async throws -> TestRecord
    /// Replaces the agents that run `id` (results already stored stay).
    func reassignTest(_ id: TestID, agents: [AgentName]) async throws -> TestRecord
    /// Makes `id` active again at a new revision carrying `spec` (a restart: same id, same series).
    func restartTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord
    /// Deletes tests and their results; returns how many existed.
    func deleteTests(_ ids: [TestID]) async throws -> Int
    func tests() async throws -> [TestRecord]
    /// A page of tests, newest first.
    func tests(matching query: TestQuery) async throws -> TestPage
    func test(_ id: TestID) async throws -> TestRecord?
    /// The active tests assigned to `agent`, at their current revisions.
    func activeAssignments(for agent: AgentName) async throws -> [TestAssignment]
    /// The ids of the active tests each agent runs, in one read (the agent list shows them).
    func activeTestIDsByAgent() async throws -> [AgentName: [TestID]]
}

/// Measurements: atomic, idempotent batch ingest and time-range reads.
public protocol MeasurementStore: Sendable {
    /// Commits batches; each batch is all-or-nothing and deduplicated on (agent, batch id).
    ///
    /// Several batches may share one database transaction (group commit); a result is returned
    /// for every batch, in order, only after the data is durable.
    func commitBatches(_ batches: [IncomingBatch]) async throws -> [BatchCommitResult]
    /// How many ``commitBatches(_:)`` calls the server runs at once: 1 for a single-writer database
    /// (SQLite), more where transactions write in parallel (PostgreSQL). Defaults to 1.
    var concurrentCommits: Int { get }
    /// The highest batch id stored from `agent` (0 when none): told to the agent in Welcome.
    func lastBatchID(of agent: AgentName) async throws -> UInt64
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
    /// How many results a test has and when the newest started.
    func progress(test: TestID) async throws -> TestProgress
    /// Aggregates in fixed buckets (server-side downsampling), oldest first, per agent and kind.
    func series(_ query: SeriesQuery) async throws -> [SeriesBucket]
    /// The newest measurement of each (test, agent) among `tests` that started at or after `since`.
    func latestMeasurements(tests: [TestID], since: Timestamp) async throws -> [MeasurementRecord]
}

/// Users, browser sessions and API tokens.
public protocol AccountStore: Sendable {
    /// - Throws: ``StoreError`` `.conflict` when the username is taken.
    func createUser(_ user: UserRecord) async throws
    func users() async throws -> [UserRecord]
    func user(_ username: String) async throws -> UserRecord?
    /// Changes what is given; a new password hash or disabling ends the user's sessions.
    func updateUser(_ username: String, role: Role?, passwordHash: String?, disabled: Bool?) async throws -> UserRecord
    /// Deletes a user with their sessions and tokens.
    func deleteUser(_ username: String) async throws
    func recordLogin(_ username: String, at: Timestamp) async throws
    func createSession(_ session: SessionRecord) async throws
    func session(tokenHash: String) async throws -> SessionRecord?
    func touchSession(tokenHash: String, at: Timestamp) async throws
    func deleteSession(tokenHash: String) async throws
    /// Deletes sessions idle since before `idleBefore` or created before `createdBefore`;
    /// returns how many.
    func deleteSessions(idleBefore: Timestamp, createdBefore: Timestamp) async throws -> Int
    /// Stores a token and returns it with its id.
    func createToken(_ token: APITokenRecord) async throws -> APITokenRecord
    func tokens() async throws -> [APITokenRecord]
    func token(hash: String) async throws -> APITokenRecord?
    func touchToken(id: Int64, at: Timestamp) async throws
    /// - Throws: ``StoreError`` `.notFound` when no such token exists.
    func deleteToken(id: Int64) async throws
}

/// An append-only log of what happened, for the dashboard.
public protocol EventStore: Sendable {
    func appendEvent(_ event: EventRecord) async throws
    /// The newest events first; without `includingAccounts`, user and token events (the
    /// account audit trail, for admins only) are left out.
    func events(limit: Int, includingAccounts: Bool) async throws -> [EventRecord]
}

/// Small key/value settings.
public protocol SettingsStore: Sendable {
    func setting(_ key: String) async throws -> String?
    func setSetting(_ key: String, value: String) async throws
}

/// Everything the server, gateway and CLI need from a backend.
/// The managed-device inventory (gNMI).
public protocol DeviceStore: Sendable {
    /// Stores a device and its collection test (probe kind `gnmi`, assigned to the device's agents).
    /// - Throws: ``StoreError`` `.invalidInput` for a bad record, `.conflict` for a taken name.
    func createDevice(_ device: DeviceRecord) async throws -> DeviceRecord
    func devices() async throws -> [DeviceRecord]
    func device(id: Int64) async throws -> DeviceRecord?
    func device(named name: String) async throws -> DeviceRecord?
    /// Removes a device and stops its collection test; the results stay with that test.
    func deleteDevice(id: Int64) async throws
}

/// Alerting: rules, channels, alerts with their history, silences, and the notification outbox.
public protocol AlertStore: Sendable {
    /// - Throws: ``StoreError`` `.invalidInput` for a bad rule or an unknown channel, `.conflict`
    ///   for a taken name.
    func createAlertRule(_ spec: AlertRuleSpec) async throws -> AlertRuleRecord
    /// Replaces a rule's spec (its open alerts stay open; the evaluator re-reads the rule).
    func updateAlertRule(_ id: Int64, spec: AlertRuleSpec) async throws -> AlertRuleRecord
    func alertRules() async throws -> [AlertRuleRecord]
    func alertRule(_ id: Int64) async throws -> AlertRuleRecord?
    /// Deletes a rule; its alerts stay as history under its name, and open ones are cleared.
    func deleteAlertRule(_ id: Int64) async throws
    /// - Throws: ``StoreError`` `.invalidInput` for a bad channel, `.conflict` for a taken name.
    func createAlertChannel(_ spec: AlertChannelSpec) async throws -> AlertChannelRecord
    func alertChannels() async throws -> [AlertChannelRecord]
    /// - Throws: ``StoreError`` `.conflict` while a rule names it, `.notFound` when unknown.
    func deleteAlertChannel(_ id: Int64) async throws
    /// Stores a raised alert and, in the same transaction, a pending notification per channel in
    /// `channels` (ids). Returns it with its id.
    /// - Throws: ``StoreError`` `.conflict` when the rule already has an open alert for this scope
    ///   (two evaluators, e.g. across a lease handover, never raise one twice).
    func raiseAlert(_ alert: AlertRecord, notify channels: [Int64]) async throws -> AlertRecord
    /// Clears an open alert and queues a notification per channel. An alert already cleared is
    /// returned as it is, with nothing queued.
    func clearAlert(_ id: Int64, at: Timestamp, value: Double, notify channels: [Int64]) async throws -> AlertRecord
    /// Records who took an alert on; the first acknowledgement stays.
    func acknowledgeAlert(_ id: Int64, by user: String, at: Timestamp) async throws -> AlertRecord
    func alert(_ id: Int64) async throws -> AlertRecord?
    func alerts(_ query: AlertQuery) async throws -> [AlertRecord]
    func createSilence(_ silence: SilenceRecord) async throws -> SilenceRecord
    /// Silences that have not ended at `now` (every silence when nil), newest first.
    func silences(activeAt now: Timestamp?) async throws -> [SilenceRecord]
    func deleteSilence(_ id: Int64) async throws
    /// Pending notifications whose next attempt is due at `now`, oldest first.
    func dueNotifications(now: Timestamp, limit: Int) async throws -> [NotificationRecord]
    func recordDelivery(_ id: Int64, outcome: DeliveryOutcome) async throws
    /// Every notification of an alert, oldest first.
    func notifications(alert: Int64) async throws -> [NotificationRecord]
}

/// A store that tells what changed in it (see ``ChangeFeed``).
/// Scheduled reports: what to mail, to which e-mail channel, and how the last delivery went.
public protocol ReportScheduleStore: Sendable {
    /// Refuses a name in use (conflict) and a channel that does not exist or is not e-mail.
    func createReportSchedule(_ spec: ReportScheduleSpec, by user: String) async throws -> ReportScheduleRecord
    func reportSchedules() async throws -> [ReportScheduleRecord]
    func deleteReportSchedule(_ id: Int64) async throws
    func recordReportDelivery(_ id: Int64, _ delivery: ReportDelivery, at: Timestamp) async throws
}

public protocol ChangeSource: Sendable {
    var changes: any ChangeFeed { get }
}

/// Everything the gateway and the CLI need from a backend.
public protocol Store: AgentStore, ServerPresenceStore, LeaseStore, TestStore, MeasurementStore, RollupStore,
    ReportScheduleStore,
    SettingsStore, AccountStore, EventStore, DeviceStore, AlertStore, ChangeSource
{}

// What each consumer needs, and no more: a consumer takes its composition, not the whole `Store`.

/// The mesh server: agents, their assignments, batches, devices to collect, changes to push; and
/// events for the recurrence scheduler. Never accounts or settings.
public typealias MeshServerStore = AgentStore & ServerPresenceStore & TestStore & MeasurementStore & DeviceStore
    & EventStore & ChangeSource
/// The recurrence scheduler: tests, their child occurrences, and an event per occurrence.
public typealias RecurrenceStore = TestStore & EventStore
/// The retention job: rollups, pruning, and the periods from settings.
public typealias RetentionStore = RollupStore & SettingsStore
/// Device status and path correlation: devices and their results.
public typealias DeviceResultStore = DeviceStore & MeasurementStore

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

extension EventStore {
    /// Every event, the account audit trail included.
    public func events(limit: Int) async throws -> [EventRecord] {
        try await events(limit: limit, includingAccounts: true)
    }
}

extension MeasurementStore {
    public var concurrentCommits: Int { 1 }
}
