import Foundation
import GRDB
// why: the store's public API is made of SwarmCore and SwarmStore types, and it takes a Logger.
public import Logging
public import SwarmCore
public import SwarmStore
import Synchronization

/// The embedded ``Store``: one SQLite file in WAL mode through GRDB.
///
/// Invariants live in the schema: foreign keys, `NOT NULL`, the (agent, batch id) primary key that
/// makes ingest idempotent, and the (test, agent, time) clustering of measurements.
public final class SQLiteStore: Store {
    public struct Configuration: Sendable {
        /// The database file. Created with its directory when missing.
        public var path: String
        /// WAL pages between automatic checkpoints. Defaults to 10,000 (~40 MB), so bursts of ingest
        /// are not stalled by frequent checkpoints.
        public var walAutocheckpointPages: Int = 10_000
        public init(path: String) { self.path = path }
    }

    public let changes: any ChangeFeed
    let feed: InProcessChangeFeed
    private let pool: DatabasePool
    private let logger: Logger
    /// The tests generation when this store was opened: where the change poller starts.
    private let openedAtGeneration: Int64
    /// Generation bumps this process committed and the poller has not accounted for yet: those
    /// changes were already published in-process, so the poller need not announce them again.
    let ownBumps = Mutex<Int64>(0)

    /// Opens (creating when needed) and migrates the database.
    ///
    /// - Throws: ``StoreError`` `.unavailable` when the file cannot be opened, `.migration` when a
    ///   migration fails.
    public init(configuration: Configuration, logger: Logger) throws {
        self.logger = logger
        // Owner-only directory and files; an existing world-readable database is narrowed.
        if let note = try? PrivateFiles.prepareDatabaseFile(configuration.path) { logger.notice("\(note)") }
        var config = GRDB.Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        let checkpoint = configuration.walAutocheckpointPages
        config.prepareDatabase { db in
            // FULL: a commit is on disk before the batch is acked, so an OS crash cannot lose an acked
            // batch (NORMAL in WAL mode may lose the last commits). Group commit pays for it.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(checkpoint)")
            // 32 MiB page cache per connection: a 24-hour series (~86,000 rows) stays in memory.
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        do {
            pool = try DatabasePool(path: configuration.path, configuration: config)
        } catch {
            throw StoreError(
                code: .unavailable,
                message: "cannot open SQLite database at \(configuration.path): check the path and its permissions",
                cause: error
            )
        }
        do {
            let migrator = Self.makeMigrator()
            let pending = try pool.read { db in try migrator.appliedIdentifiers(db) }
            try migrator.migrate(pool)
            let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
            for name in applied.subtracting(pending).sorted() {
                logger.info("migration \(name) applied", metadata: ["swarm.store.path": "\(configuration.path)"])
            }
        } catch {
            throw StoreError(
                code: .migration,
                message: "migrating \(configuration.path) failed: the file may be from a newer StreamSwarm; "
                    + "restore a backup or use a newer binary",
                cause: error
            )
        }
        feed = InProcessChangeFeed()
        changes = feed
        // try?: a store that cannot read its settings fails on first use with a clear error.
        let generation = try? pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'tests.generation'")
        }
        openedAtGeneration = generation.flatMap { $0 }.flatMap { Int64($0) } ?? 0
    }

    deinit { feed.finish() }

    // MARK: - Agents

    public func recordSessionStart(_ start: SessionStart) async throws {
        let hostJSON = try Self.json(start.host)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO agents (name, first_seen, last_seen, online, went_offline_at, agent_version,
                                        host_json, session_id, certificate_serial)
                    VALUES (?, ?, ?, 1, NULL, ?, ?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET
                        first_seen = COALESCE(first_seen, excluded.first_seen),
                        last_seen = excluded.last_seen, online = 1, went_offline_at = NULL,
                        agent_version = excluded.agent_version, host_json = excluded.host_json,
                        session_id = excluded.session_id, certificate_serial = excluded.certificate_serial
                    """,
                arguments: [
                    start.agent.rawValue, start.at.unixNanos, start.at.unixNanos, start.agentVersion, hostJSON,
                    start.sessionID, start.certificateSerial,
                ]
            )
            try Self.appendEvent(
                db,
                EventRecord(
                    at: start.at,
                    kind: "agent.online",
                    subject: start.agent.rawValue,
                    message: "agent \(start.agent) connected (version \(start.agentVersion))"
                )
            )
        }
        feed.publish(.agentChanged(start.agent))
    }

    public func recordAgentStatus(_ updates: [AgentStatusUpdate]) async throws {
        guard !updates.isEmpty else { return }
        let rows = try updates.map { ($0.agent.rawValue, $0.lastSeen.unixNanos, try $0.load.map(Self.json)) }
        try await write { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE agents SET last_seen = ?, load_json = COALESCE(?, load_json) WHERE name = ?"
            )
            for (name, seen, load) in rows {
                try statement.execute(arguments: [seen, load, name])
            }
        }
    }

    public func markOffline(_ agent: AgentName, sessionID: String, at: Timestamp) async throws {
        let changed = try await write { db -> Bool in
            try db.execute(
                sql:
                    "UPDATE agents SET online = 0, went_offline_at = ? WHERE name = ? AND session_id = ? AND online = 1",
                arguments: [at.unixNanos, agent.rawValue, sessionID]
            )
            guard db.changesCount > 0 else { return false }
            try Self.appendEvent(
                db,
                EventRecord(
                    at: at,
                    kind: "agent.offline",
                    subject: agent.rawValue,
                    message: "agent \(agent) disconnected"
                )
            )
            return true
        }
        if changed { feed.publish(.agentChanged(agent)) }
    }

    public func agents() async throws -> [AgentRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY name").compactMap(Self.agentRecord)
        }
    }

    public func agent(_ name: AgentName) async throws -> AgentRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE name = ?", arguments: [name.rawValue])
                .flatMap(Self.agentRecord)
        }
    }

    // MARK: - Tests

    public func createTest(_ spec: TestSpec, agents: [AgentName]) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        guard !agents.isEmpty else {
            throw StoreError(code: .invalidInput, message: "a test needs at least one agent (e.g. --agent local)")
        }
        let specJSON = try Self.json(spec)
        let now = Timestamp.now()
        let names = Array(Set(agents)).sorted()
        let id = try await write { db -> Int64 in
            try db.execute(
                sql: "INSERT INTO tests (name, state, revision, created_at, updated_at) VALUES (?, 'active', 1, ?, ?)",
                arguments: [spec.name, now.unixNanos, now.unixNanos]
            )
            let id = db.lastInsertedRowID
            try db.execute(
                sql: "INSERT INTO test_revisions (test_id, revision, spec_json, created_at) VALUES (?, 1, ?, ?)",
                arguments: [id, specJSON, now.unixNanos]
            )
            try Self.bumpTestsGeneration(db)
            for name in names {
                let agentID = try Self.ensureAgent(db, name: name)
                try db.execute(
                    sql: "INSERT INTO test_assignments (test_id, agent_id) VALUES (?, ?)",
                    arguments: [id, agentID]
                )
            }
            return id
        }
        ownBumps.withLock { $0 += 1 }
        feed.publish(.assignmentsChanged(test: TestID(id), agents: names))
        return try await requireTest(TestID(id))
    }

    public func reviseTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        let specJSON = try Self.json(spec)
        let now = Timestamp.now()
        try await write { db in
            guard
                let state = try String.fetchOne(
                    db,
                    sql: "SELECT state FROM tests WHERE id = ?",
                    arguments: [id.rawValue]
                )
            else {
                throw StoreError(code: .notFound, message: "test \(id) does not exist (see 'streamswarm tests list')")
            }
            guard state == TestState.active.rawValue else {
                throw StoreError(code: .conflict, message: "test \(id) is cancelled; create a new test instead")
            }
            try Self.bumpTestsGeneration(db)
            try db.execute(
                sql: "UPDATE tests SET revision = revision + 1, name = ?, updated_at = ? WHERE id = ?",
                arguments: [spec.name, now.unixNanos, id.rawValue]
            )
            try db.execute(
                sql: """
                    INSERT INTO test_revisions (test_id, revision, spec_json, created_at)
                    SELECT id, revision, ?, ? FROM tests WHERE id = ?
                    """,
                arguments: [specJSON, now.unixNanos, id.rawValue]
            )
        }
        ownBumps.withLock { $0 += 1 }
        let record = try await requireTest(id)
        feed.publish(.assignmentsChanged(test: id, agents: record.agents))
        return record
    }

    public func cancelTest(_ id: TestID) async throws -> TestRecord {
        let now = Timestamp.now()
        let changed = try await write { db -> Bool in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM tests WHERE id = ?", arguments: [id.rawValue]) != nil else {
                throw StoreError(code: .notFound, message: "test \(id) does not exist (see 'streamswarm tests list')")
            }
            try db.execute(
                sql: "UPDATE tests SET state = 'cancelled', updated_at = ? WHERE id = ? AND state = 'active'",
                arguments: [now.unixNanos, id.rawValue]
            )
            let changed = db.changesCount > 0
            if changed { try Self.bumpTestsGeneration(db) }
            return changed
        }
        let record = try await requireTest(id)
        if changed {
            ownBumps.withLock { $0 += 1 }
            feed.publish(.assignmentsChanged(test: id, agents: record.agents))
        }
        return record
    }

    public func tests() async throws -> [TestRecord] {
        try await read { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM tests ORDER BY id")
            return try ids.compactMap { try Self.testRecord(db, id: $0) }
        }
    }

    public func test(_ id: TestID) async throws -> TestRecord? {
        try await read { db in try Self.testRecord(db, id: id.rawValue) }
    }

    public func activeAssignments(for agent: AgentName) async throws -> [TestAssignment] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT t.id, t.revision, r.spec_json FROM tests t
                    JOIN test_assignments a ON a.test_id = t.id
                    JOIN agents g ON g.id = a.agent_id
                    JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision
                    WHERE g.name = ? AND t.state = 'active'
                    ORDER BY t.id
                    """,
                arguments: [agent.rawValue]
            )
            return try rows.map { row in
                TestAssignment(
                    testID: TestID(row[0]),
                    revision: row[1],
                    spec: try Self.decode(TestSpec.self, from: row[2])
                )
            }
        }
    }

    func requireTest(_ id: TestID) async throws -> TestRecord {
        guard let record = try await test(id) else {
            throw StoreError(code: .notFound, message: "test \(id) does not exist (see 'streamswarm tests list')")
        }
        return record
    }

    // MARK: - Measurements

    public func commitBatches(_ batches: [IncomingBatch]) async throws -> [BatchCommitResult] {
        guard !batches.isEmpty else { return [] }
        let now = Timestamp.now().unixNanos
        let (results, stored) = try await write { db in
            var stored: [StoredKey: Int] = [:]
            var results: [BatchCommitResult] = []
            results.reserveCapacity(batches.count)
            var allowedTests: [String: Assignments] = [:]
            let markBatch = try db.cachedStatement(
                sql: """
                    INSERT INTO ingested_batches (agent_id, batch_id, received_at, measurement_count, digest)
                    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """
            )
            let storedDigest = try db.cachedStatement(
                sql: "SELECT digest FROM ingested_batches WHERE agent_id = ? AND batch_id = ?"
            )
            let insert = try db.cachedStatement(sql: Self.insertMeasurementSQL)
            for batch in batches {
                let name = batch.agent.rawValue
                let allowed: Assignments
                if let cached = allowedTests[name] {
                    allowed = cached
                } else {
                    guard
                        let agentID = try Int64.fetchOne(
                            db,
                            sql: "SELECT id FROM agents WHERE name = ?",
                            arguments: [name]
                        )
                    else {
                        throw StoreError(
                            code: .notFound,
                            message: "agent \(name) has no session record; it must say Hello first"
                        )
                    }
                    allowed = try Assignments(db, agentID: agentID)
                    allowedTests[name] = allowed
                }
                let accepted = try batch.measurements.filter {
                    try allowed.covers($0.testID.rawValue, at: $0.startedAt.unixNanos, db)
                }
                let digest = batch.contentDigest
                try markBatch.execute(arguments: [
                    allowed.agentID, Int64(bitPattern: batch.batchID), now, accepted.count, digest,
                ])
                if db.changesCount == 0 {
                    let earlier = try Int64.fetchOne(
                        storedDigest,
                        arguments: [allowed.agentID, Int64(bitPattern: batch.batchID)]
                    )
                    // Rows from before digests were kept (nil) count as the same batch.
                    let reused = earlier.map { $0 != digest } ?? false
                    results.append(
                        BatchCommitResult(batchID: batch.batchID, storedCount: 0, duplicate: !reused, idReused: reused)
                    )
                    continue
                }
                for m in accepted {
                    try insert.execute(arguments: Self.arguments(for: m, agentID: allowed.agentID))
                    stored[StoredKey(test: m.testID, agent: batch.agent), default: 0] += 1
                }
                results.append(
                    BatchCommitResult(
                        batchID: batch.batchID,
                        storedCount: accepted.count,
                        rejectedCount: batch.measurements.count - accepted.count,
                        duplicate: false
                    )
                )
            }
            return (results, stored)
        }
        for (key, count) in stored {
            feed.publish(.measurementsStored(test: key.test, agent: key.agent, count: count))
        }
        return results
    }

    public func lastBatchID(of agent: AgentName) async throws -> UInt64 {
        try await read { db in
            let id = try Int64.fetchOne(
                db,
                sql: """
                    SELECT MAX(b.batch_id) FROM ingested_batches b JOIN agents a ON a.id = b.agent_id
                    WHERE a.name = ?
                    """,
                arguments: [agent.rawValue]
            )
            return UInt64(bitPattern: id ?? 0)
        }
    }

    /// The tests an agent holds now, and the periods it held others: a measurement is stored
    /// when its test is assigned now or was when it was measured. The history is read only for a
    /// batch that needs it, so the usual batch (every test current) costs one query as before.
    private final class Assignments {
        /// Agent clocks differ from ours: a measurement this close to a period's ends counts.
        static let clockSlack: Int64 = 60_000_000_000
        let agentID: Int64
        let current: Set<Int64>
        private var past: [Int64: [(from: Int64, to: Int64)]]?

        init(_ db: Database, agentID: Int64) throws {
            self.agentID = agentID
            current = try Int64.fetchSet(
                db,
                sql: "SELECT test_id FROM test_assignments WHERE agent_id = ?",
                arguments: [agentID]
            )
        }

        func covers(_ test: Int64, at time: Int64, _ db: Database) throws -> Bool {
            if current.contains(test) { return true }
            let periods = try past ?? load(db)
            return periods[test]?.contains { time >= $0.from - Self.clockSlack && time <= $0.to + Self.clockSlack }
                ?? false
        }

        private func load(_ db: Database) throws -> [Int64: [(from: Int64, to: Int64)]] {
            var periods: [Int64: [(from: Int64, to: Int64)]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT test_id, from_ts, to_ts FROM assignment_periods WHERE agent_id = ? AND to_ts IS NOT NULL",
                arguments: [agentID]
            ) {
                periods[row[0], default: []].append((row[1], row[2]))
            }
            past = periods
            return periods
        }
    }

    private struct StoredKey: Hashable {
        var test: TestID
        var agent: AgentName
    }

    static let insertMeasurementSQL = """
        INSERT OR IGNORE INTO measurements
            (test_id, agent_id, ts, seq, revision, kind, status, duration_ns, value, reason, payload,
             loss, jitter, low, high)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static func arguments(for m: MeasurementRecord, agentID: Int64) -> StatementArguments {
        [
            m.testID.rawValue, agentID, m.startedAt.unixNanos, Int64(bitPattern: m.sequence), m.revision,
            m.kind.rawValue, m.status.rawValue, m.duration.nanoseconds, m.value, m.reason, m.payload,
            m.figures.lossPercent, m.figures.jitterMicros, m.figures.low, m.figures.high,
        ]
    }

    public func measurements(
        test: TestID,
        agent: AgentName?,
        range: TimeRange,
        limit: Int,
        newestFirst: Bool
    ) async throws -> [MeasurementRecord] {
        // One of two fixed orders, never input; the (test, agent, ts, seq) clustering serves both.
        let order = newestFirst ? "m.ts DESC, m.seq DESC" : "m.ts, m.seq"
        let sql = """
            SELECT m.*, g.name AS agent_name FROM measurements m JOIN agents g ON g.id = m.agent_id
            WHERE m.test_id = ? AND (? IS NULL OR g.name = ?) AND m.ts >= ? AND m.ts < ?
            ORDER BY \(order) LIMIT ?
            """
        let arguments: StatementArguments = [
            test.rawValue, agent?.rawValue, agent?.rawValue, range.from.unixNanos, range.to.unixNanos, limit,
        ]
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap(Self.measurementRecord)
        }
    }

    public func measurementCount(test: TestID?) async throws -> Int {
        try await read { db in
            if let test {
                return try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM measurements WHERE test_id = ?",
                    arguments: [test.rawValue]
                ) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM measurements") ?? 0
        }
    }

    // MARK: - Settings

    public func setting(_ key: String) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
        }
    }

    public func setSetting(_ key: String, value: String) async throws {
        try await write { db in
            try db.execute(
                sql:
                    "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [key, value]
            )
        }
    }

    // MARK: - Changes from other processes

    /// Watches for test changes written by other processes (the CLI writing the same file) and
    /// publishes ``StoreChange/testsChanged`` on the change feed. Runs until cancelled.
    ///
    /// Every test mutation bumps a generation counter in the same transaction, so one cheap read per
    /// interval is enough.
    public func runChangePoller(interval: Duration = .seconds(1)) async {
        // Changes since the store was opened count, so a write that lands before the first poll
        // is not missed.
        var seen = openedAtGeneration
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            // try?: a failed read is retried on the next tick.
            guard let current = try? await testsGeneration(), current != seen else { continue }
            // A bump counted here before its generation is visible only causes one extra publish.
            let own = ownBumps.withLock { bumps in
                defer { bumps = 0 }
                return bumps
            }
            if current - seen > own { feed.publish(.testsChanged) }
            seen = current
        }
    }

    func testsGeneration() async throws -> Int64 {
        try await read { db in
            Int64(try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'tests.generation'") ?? "0") ?? 0
        }
    }

    static func bumpTestsGeneration(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO settings (key, value) VALUES ('tests.generation', '1')
                ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
                """
        )
    }

    // MARK: - Helpers

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .unavailable, message: "SQLite write failed: \(Self.describe(error))", cause: error)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .unavailable, message: "SQLite read failed: \(Self.describe(error))", cause: error)
        }
    }

    /// The driver's message without statement arguments (which may carry payloads).
    private static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }

    static func ensureAgent(_ db: Database, name: AgentName) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO agents (name) VALUES (?) ON CONFLICT(name) DO NOTHING",
            arguments: [name.rawValue]
        )
        guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM agents WHERE name = ?", arguments: [name.rawValue])
        else {
            throw StoreError(code: .corrupt, message: "agent \(name) vanished while being assigned")
        }
        return id
    }

    static func testRecord(_ db: Database, id: Int64) throws -> TestRecord? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT t.*, r.spec_json FROM tests t
                    JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision WHERE t.id = ?
                    """,
                arguments: [id]
            )
        else { return nil }
        let agentNames = try String.fetchAll(
            db,
            sql: """
                SELECT g.name FROM test_assignments a JOIN agents g ON g.id = a.agent_id
                WHERE a.test_id = ? ORDER BY g.name
                """,
            arguments: [id]
        )
        guard let state = TestState(rawValue: row["state"]) else {
            throw StoreError(code: .corrupt, message: "test \(id) has an unknown state")
        }
        return TestRecord(
            id: TestID(id),
            revision: row["revision"],
            spec: try decode(TestSpec.self, from: row["spec_json"]),
            state: state,
            agents: agentNames.compactMap(AgentName.init),
            createdAt: Timestamp(unixNanos: row["created_at"]),
            updatedAt: Timestamp(unixNanos: row["updated_at"]),
            parentID: (row["parent_id"] as Int64?).map(TestID.init),
            occurrence: row["occurrence"]
        )
    }

    static func agentRecord(_ row: Row) -> AgentRecord? {
        guard let name = AgentName(row["name"]) else { return nil }
        let hostJSON: String? = row["host_json"]
        let loadJSON: String? = row["load_json"]
        let firstSeen: Int64? = row["first_seen"]
        let lastSeen: Int64? = row["last_seen"]
        let offline: Int64? = row["went_offline_at"]
        let acked: Int64 = row["last_acked_batch_id"]
        return AgentRecord(
            name: name,
            firstSeen: firstSeen.map(Timestamp.init(unixNanos:)),
            lastSeen: lastSeen.map(Timestamp.init(unixNanos:)),
            online: row["online"],
            wentOfflineAt: offline.map(Timestamp.init(unixNanos:)),
            agentVersion: row["agent_version"],
            // try?: a host-facts blob that no longer decodes is shown as unknown, not an error.
            host: hostJSON.flatMap { try? decode(HostFacts.self, from: $0) },
            load: loadJSON.flatMap { try? decode(LoadSnapshot.self, from: $0) },
            lastAckedBatchID: UInt64(bitPattern: acked),
            sessionID: row["session_id"],
            revokedAt: (row["revoked_at"] as Int64?).map(Timestamp.init(unixNanos:))
        )
    }

    static func measurementRecord(_ row: Row) -> MeasurementRecord? {
        guard
            let agent = AgentName(row["agent_name"]),
            let kind = ProbeKind(rawValue: row["kind"]),
            let status = MeasurementStatus(rawValue: row["status"])
        else { return nil }
        let seq: Int64 = row["seq"]
        let duration: Int64 = row["duration_ns"]
        return MeasurementRecord(
            testID: TestID(row["test_id"]),
            revision: row["revision"],
            agent: agent,
            sequence: UInt64(bitPattern: seq),
            kind: kind,
            startedAt: Timestamp(unixNanos: row["ts"]),
            duration: .nanoseconds(duration),
            status: status,
            reason: row["reason"],
            value: row["value"],
            figures: MeasurementFigures(
                lossPercent: row["loss"],
                jitterMicros: row["jitter"],
                low: row["low"],
                high: row["high"]
            ),
            payload: row["payload"]
        )
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, from json: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(json.utf8))
        } catch {
            throw StoreError(code: .corrupt, message: "stored \(type) does not decode", cause: error)
        }
    }
}
