import GRDB
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// MeasurementStore: atomic, idempotent batch ingest and time-range reads.
extension SQLiteStore {
    public func commitBatches(_ batches: [IncomingBatch]) async throws -> [BatchCommitResult] {
        guard !batches.isEmpty else { return [] }
        let now = Timestamp.now().unixNanos
        return try await writeAndPublish { db, changes in
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
            let late = try LateMarks(db)
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
                    if db.changesCount > 0 { try late.note(m, agentID: allowed.agentID) }
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
            // One change (and one change-log row) per (test, agent) per commit, however many
            // batches and measurements the group carried: the log grows with commits, not rows.
            for (key, count) in stored.sorted(by: { ($0.key.test, $0.key.agent) < ($1.key.test, $1.key.agent) }) {
                changes.append(.measurementsStored(test: key.test, agent: key.agent, count: count))
            }
            return results
        }
    }

    public func lastBatchID(of agent: AgentName) async throws -> UInt64 {
        try await read { db in
            // Ids are stored as Int64 bit patterns: those at or above 2^63 read negative and are the
            // largest unsigned, so the highest of them wins when there is one. Each MAX is one seek
            // on the (agent, batch id) primary key.
            let id = try Int64.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(
                        (SELECT MAX(batch_id) FROM ingested_batches WHERE agent_id = g.id AND batch_id < 0),
                        (SELECT MAX(batch_id) FROM ingested_batches WHERE agent_id = g.id))
                    FROM agents g WHERE g.name = ?
                    """,
                arguments: [agent.rawValue]
            )
            return UInt64(bitPattern: id ?? 0)
        }
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

    public func progress(test: TestID) async throws -> TestProgress {
        try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: "SELECT COUNT(*), MAX(ts) FROM measurements WHERE test_id = ?",
                arguments: [test.rawValue]
            )
            let last: Int64? = row?[1]
            return TestProgress(results: row?[0] ?? 0, lastResultAt: last.map(Timestamp.init(unixNanos:)))
        }
    }

    public func series(_ query: SeriesQuery) async throws -> [SeriesBucket] {
        if let seconds = query.resolution.bucket.map({ Int64($0.components.seconds) }) {
            return try await rollupSeries(query, seconds: seconds)
        }
        let bucket = max(query.bucket.nanoseconds, 1)
        let from = query.range.from.unixNanos
        var conditions = ["m.ts >= ?", "m.ts < ?"]
        // In the order of the placeholders: the bucket expression, then the conditions.
        var arguments: StatementArguments = [from, bucket, bucket, from, from, query.range.to.unixNanos]
        if let test = query.test {
            conditions.append("m.test_id = ?")
            arguments += [test.rawValue]
        }
        if let agent = query.agent {
            conditions.append("m.agent_id = (SELECT id FROM agents WHERE name = ?)")
            arguments += [agent.rawValue]
        } else {
            // An IN over the small agents table lets SQLite seek (test, agent, ts) per agent
            // instead of scanning the test's whole series.
            conditions.append("m.agent_id IN (SELECT id FROM agents)")
        }
        if !query.kinds.isEmpty {
            conditions.append("m.kind IN (\(Array(repeating: "?", count: query.kinds.count).joined(separator: ",")))")
            arguments += StatementArguments(query.kinds.map(\.rawValue))
        }
        let sql = """
            SELECT g.name, m.kind, ((m.ts - ?) / ?) * ? + ? AS bucket, COUNT(*), SUM(m.status = 'ok'),
                   MIN(m.value), AVG(m.value), MAX(m.value), MIN(m.low), MAX(m.high), AVG(m.loss), AVG(m.jitter)
            FROM measurements m JOIN agents g ON g.id = m.agent_id
            WHERE \(conditions.joined(separator: " AND "))
            GROUP BY m.agent_id, m.kind, bucket
            ORDER BY g.name, m.kind, bucket
            """
        let bound = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: bound).compactMap { row in
                guard let agent = AgentName(row[0]), let kind = ProbeKind(rawValue: row[1]) else { return nil }
                return SeriesBucket(
                    agent: agent,
                    kind: kind,
                    start: Timestamp(unixNanos: row[2]),
                    count: row[3],
                    okCount: row[4],
                    min: row[5],
                    avg: row[6],
                    max: row[7],
                    low: row[8],
                    high: row[9],
                    lossPercent: row[10],
                    jitterMicros: row[11]
                )
            }
        }
    }

    public func latestMeasurements(tests: [TestID], since: Timestamp) async throws -> [MeasurementRecord] {
        guard !tests.isEmpty else { return [] }
        return try await read { db in
            var records: [MeasurementRecord] = []
            let statement = try db.cachedStatement(
                sql: """
                    SELECT m.*, g.name AS agent_name FROM test_assignments a
                    JOIN agents g ON g.id = a.agent_id
                    JOIN measurements m ON m.test_id = a.test_id AND m.agent_id = a.agent_id
                    WHERE a.test_id = ? AND m.ts >= ?
                      AND m.ts = (SELECT MAX(ts) FROM measurements x WHERE x.test_id = a.test_id AND x.agent_id = a.agent_id)
                    """
            )
            for test in tests {
                let rows = try Row.fetchAll(statement, arguments: [test.rawValue, since.unixNanos])
                records.append(contentsOf: rows.compactMap(Self.measurementRecord))
            }
            return records
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
}
