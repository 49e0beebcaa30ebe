import Foundation
import GRDB
// why: the store conforms to SwarmStore's StoreBackend in public, and its init takes a Logger.
public import Logging
import SwarmCore
public import SwarmStore
import Synchronization

/// The embedded ``StoreBackend``: one SQLite file in WAL mode through GRDB.
///
/// Invariants live in the schema: foreign keys, `NOT NULL`, the (agent, batch id) primary key that
/// makes ingest idempotent, and the (test, agent, time) clustering of measurements. Every mutation
/// that publishes a ``StoreChange`` also logs it in the `changes` table in its own transaction, and
/// ``run()`` reads what other processes logged there (see `SQLiteStore+Changes.swift`).
///
/// The implementation is split by protocol: `+Agents`, `+Tests`, `+Measurements`, `+Accounts`,
/// `+Events`, `+Settings`, `+Devices`, `+Changes`, and `+Schema` for the migrations.
public final class SQLiteStore: StoreBackend {
    public struct Configuration: Sendable {
        /// The database file. Created with its directory when missing.
        public var path: String
        /// WAL pages between automatic checkpoints. Defaults to 10,000 (~40 MB), so bursts of ingest
        /// are not stalled by frequent checkpoints.
        public var walAutocheckpointPages: Int = 10_000
        /// How often ``SQLiteStore/run()`` reads the change log for other processes' changes.
        /// Defaults to 250 ms: a revoke from the CLI reaches the server's sessions within it.
        public var changePollInterval: Duration = .milliseconds(250)
        /// How long change-log rows are kept for other processes to read. Defaults to 10 minutes;
        /// a reader that falls further behind publishes ``StoreChange/testsChanged`` instead.
        public var changeRetention: Duration = .seconds(600)
        public init(path: String) { self.path = path }
    }

    public let changes: any ChangeFeed
    let feed: InProcessChangeFeed
    let configuration: Configuration
    let pool: DatabasePool
    let logger: Logger
    /// Identifies this handle's rows in the change log: the poller skips them, since they were
    /// published in-process when they committed.
    let origin = UUID().uuidString
    /// The highest change-log id this handle has accounted for; starts where the log was at open,
    /// so a change written between opening and ``run()`` is not missed.
    let changeCursor: Mutex<Int64>

    /// Opens (creating when needed) and migrates the database.
    ///
    /// - Throws: ``StoreError`` `.unavailable` when the file cannot be opened, `.migration` when a
    ///   migration fails.
    public init(configuration: Configuration, logger: Logger) throws {
        self.configuration = configuration
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
        // try?: a store that cannot read its change log fails on first use with a clear error.
        changeCursor = Mutex((try? pool.read(Self.lastChangeID)) ?? 0)
    }

    deinit { feed.finish() }

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

    /// Runs `body` in one write transaction and logs the changes it reports in that same
    /// transaction, so other processes see exactly what committed; once it committed, publishes
    /// them to this process's subscribers.
    func writeAndPublish<T: Sendable>(
        _ body: @escaping @Sendable (Database, inout [StoreChange]) throws -> T
    ) async throws -> T {
        let origin = self.origin
        let (value, changes) = try await write { db -> (T, [StoreChange]) in
            var changes: [StoreChange] = []
            let value = try body(db, &changes)
            try Self.logChanges(changes, origin: origin, db)
            return (value, changes)
        }
        for change in changes { feed.publish(change) }
        return value
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
    static func describe(_ error: any Error) -> String {
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
}
