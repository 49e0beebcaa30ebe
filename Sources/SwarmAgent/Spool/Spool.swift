// why: Data holds serialized measurements in the public Batch.
public import Foundation
import GRDB
// why: append takes SwarmCore observations.
public import SwarmCore
import SwarmWire

/// The agent's durable queue of measurements: every observation is written here (SQLite, WAL)
/// before it is sent, grouped into numbered batches, and deleted only when the server acks the batch.
///
/// Batch ids and measurement sequence numbers come from persisted counters, so they survive
/// restarts; a new spool file starts its counters at the current time in microseconds, so even a
/// deleted spool never reuses an id the server has already stored.
public final class Spool: Sendable {
    /// One batch ready to send: its id and the serialized measurements.
    public struct Batch: Sendable {
        public var id: UInt64
        public var measurements: [Data]
    }

    private let pool: DatabasePool
    public let path: String

    /// Opens or creates the spool at `path`.
    ///
    /// - Throws: ``SpoolError`` when the file cannot be opened or migrated.
    public init(path: String) throws {
        self.path = path
        // Owner-only directory and files; an existing world-readable spool is narrowed.
        _ = try? PrivateFiles.prepareDatabaseFile(path)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        // FULL: a batch formed (its id taken) survives an OS crash, so the id is never handed out
        // again for other measurements; an acked batch's deletion is durable too.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1-spool") { db in
                let start = Timestamp.now().unixNanos / 1000
                try db.execute(
                    sql: """
                        CREATE TABLE batches (
                            id INTEGER PRIMARY KEY,
                            created_at INTEGER NOT NULL
                        );
                        CREATE TABLE measurements (
                            seq INTEGER PRIMARY KEY,
                            test_id INTEGER NOT NULL,
                            created_at INTEGER NOT NULL,
                            payload BLOB NOT NULL,
                            batch_id INTEGER REFERENCES batches(id)
                        );
                        CREATE INDEX measurements_by_batch ON measurements(batch_id, seq);
                        CREATE TABLE counters (
                            name TEXT PRIMARY KEY NOT NULL,
                            value INTEGER NOT NULL
                        ) WITHOUT ROWID;
                        """
                )
                try db.execute(
                    sql: """
                        INSERT INTO counters (name, value)
                        VALUES ('first_seq', ?), ('next_seq', ?), ('next_batch', ?), ('last_acked', 0)
                        """,
                    arguments: [start, start, start]
                )
            }
            try migrator.migrate(pool)
        } catch {
            throw AgentError(
                code: .spoolUnavailable,
                message: "cannot open the agent spool at \(path): check the path and permissions (--spool)",
                cause: error
            )
        }
    }

    /// Appends observations durably.
    public func append(_ observations: [ProbeObservation]) async throws {
        guard !observations.isEmpty else { return }
        try await pool.write { db in
            var seq = try Self.counter(db, "next_seq")
            let insert = try db.cachedStatement(
                sql: "INSERT INTO measurements (seq, test_id, created_at, payload) VALUES (?, ?, ?, ?)"
            )
            for observation in observations {
                let payload = try MeasurementEncoding.encode(observation, sequence: UInt64(seq))
                try insert.execute(arguments: [
                    seq, observation.testID.rawValue, observation.startedAt.unixNanos, payload,
                ])
                seq += 1
            }
            try Self.setCounter(db, "next_seq", seq)
        }
    }

    /// Batches formed earlier and not yet acknowledged, oldest first (to replay after a reconnect).
    public func unacknowledgedBatches() async throws -> [Batch] {
        try await pool.read { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM batches ORDER BY id")
            return try ids.map { id in
                Batch(
                    id: UInt64(id),
                    measurements: try Data.fetchAll(
                        db,
                        sql: "SELECT payload FROM measurements WHERE batch_id = ? ORDER BY seq",
                        arguments: [id]
                    )
                )
            }
        }
    }

    /// Groups up to `maxMeasurements` unbatched measurements, at most `maxBytes` of them, into a
    /// new numbered batch. A single measurement larger than `maxBytes` is stored as a failed
    /// measurement saying so (its result dropped), so one huge result never wedges the stream.
    ///
    /// - Returns: nil when nothing is waiting.
    public func formBatch(maxMeasurements: Int, maxBytes: Int = .max) async throws -> Batch? {
        try await pool.write { db in
            let candidates = try Row.fetchAll(
                db,
                sql: "SELECT seq, payload FROM measurements WHERE batch_id IS NULL ORDER BY seq LIMIT ?",
                arguments: [maxMeasurements]
            )
            var rows: [(seq: Int64, payload: Data)] = []
            var bytes = 0
            for row in candidates {
                var payload: Data = row[1]
                let seq: Int64 = row[0]
                if Self.size(payload) > maxBytes {
                    guard rows.isEmpty else { break }  // it starts the next batch
                    payload = try MeasurementEncoding.failed(
                        payload,
                        reason:
                            "result of \(payload.count) bytes exceeds the server's batch limit of \(maxBytes) bytes; "
                            + "its details were dropped"
                    )
                    try db.execute(sql: "UPDATE measurements SET payload = ? WHERE seq = ?", arguments: [payload, seq])
                }
                if !rows.isEmpty && bytes + Self.size(payload) > maxBytes { break }
                rows.append((seq, payload))
                bytes += Self.size(payload)
            }
            guard let last = rows.last else { return nil }
            let id = try Self.counter(db, "next_batch")
            try Self.setCounter(db, "next_batch", id + 1)
            try db.execute(
                sql: "INSERT INTO batches (id, created_at) VALUES (?, ?)",
                arguments: [id, Timestamp.now().unixNanos]
            )
            try db.execute(
                sql: "UPDATE measurements SET batch_id = ? WHERE batch_id IS NULL AND seq <= ?",
                arguments: [id, last.seq]
            )
            return Batch(id: UInt64(id), measurements: rows.map(\.payload))
        }
    }

    /// A measurement's share of a batch: its bytes plus the framing around it.
    static func size(_ payload: Data) -> Int { payload.count + 16 }

    /// Returns the measurements of unacknowledged batches larger than `maxBytes` (formed under a
    /// larger limit) to the queue, so they are batched again within the limit. Returns how many
    /// batches were dissolved. Safe for batches the server did store: it stores each measurement once.
    @discardableResult
    public func dissolveBatches(largerThan maxBytes: Int) async throws -> Int {
        try await pool.write { db in
            let oversized = try Int64.fetchAll(
                db,
                sql: """
                    SELECT batch_id FROM measurements WHERE batch_id IS NOT NULL
                    GROUP BY batch_id HAVING SUM(length(payload) + 16) > ?
                    """,
                arguments: [maxBytes]
            )
            for id in oversized {
                try db.execute(sql: "UPDATE measurements SET batch_id = NULL WHERE batch_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM batches WHERE id = ?", arguments: [id])
            }
            return oversized.count
        }
    }

    /// Numbers new batches above `floor` (the highest id the server has stored from this agent),
    /// so a spool restored from a backup or rolled back by a crash never re-uses an id.
    public func raiseBatchCounter(above floor: UInt64) async throws {
        try await pool.write { db in
            let floor = Int64(bitPattern: floor)
            if try Self.counter(db, "next_batch") <= floor { try Self.setCounter(db, "next_batch", floor + 1) }
        }
    }

    /// Gives batch `batchID` a fresh id above `floor` and above every id handed out; the server
    /// asks for this when the id was stored before with other measurements.
    ///
    /// - Returns: The batch under its new id, or nil when no such batch is waiting.
    public func renumber(_ batchID: UInt64, above floor: UInt64) async throws -> Batch? {
        try await pool.write { db in
            let old = Int64(bitPattern: batchID)
            guard try Int64.fetchOne(db, sql: "SELECT id FROM batches WHERE id = ?", arguments: [old]) != nil else {
                return nil
            }
            let id = max(try Self.counter(db, "next_batch"), Int64(bitPattern: floor) + 1)
            try Self.setCounter(db, "next_batch", id + 1)
            try db.execute(
                sql: "INSERT INTO batches (id, created_at) VALUES (?, ?)",
                arguments: [id, Timestamp.now().unixNanos]
            )
            try db.execute(sql: "UPDATE measurements SET batch_id = ? WHERE batch_id = ?", arguments: [id, old])
            try db.execute(sql: "DELETE FROM batches WHERE id = ?", arguments: [old])
            let payloads = try Data.fetchAll(
                db,
                sql: "SELECT payload FROM measurements WHERE batch_id = ? ORDER BY seq",
                arguments: [id]
            )
            return Batch(id: UInt64(id), measurements: payloads)
        }
    }

    /// Drops an acknowledged batch. Unknown ids (already dropped) are ignored.
    public func acknowledge(_ batchID: UInt64) async throws {
        try await pool.write { db in
            let id = Int64(bitPattern: batchID)
            try db.execute(sql: "DELETE FROM measurements WHERE batch_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM batches WHERE id = ?", arguments: [id])
            if id > (try Self.counter(db, "last_acked")) { try Self.setCounter(db, "last_acked", id) }
        }
    }

    /// Deletes a batch the server refused as invalid. Returns how many measurements were dropped.
    public func discard(_ batchID: UInt64) async throws -> Int {
        try await pool.write { db in
            let id = Int64(bitPattern: batchID)
            try db.execute(sql: "DELETE FROM measurements WHERE batch_id = ?", arguments: [id])
            let dropped = db.changesCount
            try db.execute(sql: "DELETE FROM batches WHERE id = ?", arguments: [id])
            return dropped
        }
    }

    /// Measurements not yet acknowledged (batched or not).
    public func depth() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM measurements") ?? 0 }
    }

    /// Every sequence number this spool has handed out: `first ..< next`.
    public func sequenceRange() async throws -> Range<UInt64> {
        try await pool.read { db in
            UInt64(try Self.counter(db, "first_seq"))..<UInt64(try Self.counter(db, "next_seq"))
        }
    }

    public func lastAcknowledgedBatchID() async throws -> UInt64 {
        try await pool.read { db in UInt64(try Self.counter(db, "last_acked")) }
    }

    private static func counter(_ db: Database, _ name: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = ?", arguments: [name]) ?? 0
    }

    private static func setCounter(_ db: Database, _ name: String, _ value: Int64) throws {
        try db.execute(sql: "UPDATE counters SET value = ? WHERE name = ?", arguments: [value, name])
    }
}
