import Foundation
import Logging
import NIOCore
import PostgresNIO
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// MeasurementStore: atomic, idempotent batch ingest and time-range reads.
extension PostgresStore {
    /// Group commits in parallel: each is one transaction on a pooled connection, and PostgreSQL
    /// writes them side by side (a quarter of the pool, at most 4, so reads keep connections).
    public var concurrentCommits: Int { max(1, min(4, configuration.maximumConnections / 4)) }

    public func commitBatches(_ batches: [IncomingBatch]) async throws -> [BatchCommitResult] {
        guard !batches.isEmpty else { return [] }
        try await prepare()
        try await ensurePartitions(for: batches.flatMap { $0.measurements.map(\.startedAt) })
        let now = Timestamp.now().unixNanos
        let logger = self.logger
        // All batches of the call in one transaction (group commit), in a fixed number of round
        // trips however many batches and agents it carries: the agents' assignments in one query,
        // the batch ids in one INSERT, the rows in multi-row INSERTs.
        return try await transactionAndPublish("committing batches") { connection, changes in
            // First, so a rollup (which locks the watermarks for update) waits for this commit or it for the rollup.
            let late = try await LateMarks.load(connection, logger)
            let assignments = try await Assignments.load(connection, agents: batches.map(\.agent), logger)
            var accepted: [[MeasurementRecord]] = []
            accepted.reserveCapacity(batches.count)
            for batch in batches {
                guard let allowed = assignments[batch.agent.rawValue] else {
                    throw StoreError(
                        code: .notFound,
                        message: "agent \(batch.agent) has no session record; it must say Hello first"
                    )
                }
                var kept: [MeasurementRecord] = []
                for m in batch.measurements
                where try await allowed.covers(m.testID.rawValue, at: m.startedAt.unixNanos, connection, logger) {
                    kept.append(m)
                }
                accepted.append(kept)
            }
            let claimed = try await Self.claimBatchIDs(
                batches,
                accepted: accepted,
                assignments,
                now,
                connection,
                logger
            )
            var stored: [StoredKey: Int] = [:]
            var results: [BatchCommitResult] = []
            results.reserveCapacity(batches.count)
            var rows: [(MeasurementRecord, Int64)] = []
            for (index, batch) in batches.enumerated() {
                guard claimed.new[index], let agentID = assignments[batch.agent.rawValue]?.agentID else {
                    // Rows from before digests were kept (nil) count as the same batch.
                    let reused = claimed.earlierDigest[index].map { $0 != batch.contentDigest } ?? false
                    results.append(
                        BatchCommitResult(batchID: batch.batchID, storedCount: 0, duplicate: !reused, idReused: reused)
                    )
                    continue
                }
                for m in accepted[index] {
                    rows.append((m, agentID))
                    stored[StoredKey(test: m.testID, agent: batch.agent), default: 0] += 1
                }
                results.append(
                    BatchCommitResult(
                        batchID: batch.batchID,
                        storedCount: accepted[index].count,
                        rejectedCount: batch.measurements.count - accepted[index].count,
                        duplicate: false
                    )
                )
            }
            try await Self.insertMeasurements(rows, connection, logger)
            try await late.note(rows.map { ($0.0.startedAt.unixNanos, $0.0.testID.rawValue, $0.1) }, connection, logger)
            // One change (and one change-log row) per (test, agent) per commit, however many
            // batches and measurements the group carried: the log grows with commits, not rows.
            for (key, count) in stored.sorted(by: { ($0.key.test, $0.key.agent) < ($1.key.test, $1.key.agent) }) {
                changes.append(.measurementsStored(test: key.test, agent: key.agent, count: count))
            }
            return results
        }
    }

    /// Records every batch id of the call in one INSERT. `new[i]`: batch i was not stored before
    /// (the first of the call wins when one id comes twice); `earlierDigest[i]`: for the others, the
    /// content digest stored with the id (nil for rows from before digests were kept).
    private static func claimBatchIDs(
        _ batches: [IncomingBatch],
        accepted: [[MeasurementRecord]],
        _ assignments: [String: Assignments],
        _ now: Int64,
        _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws -> (new: [Bool], earlierDigest: [Int64?]) {
        struct Key: Hashable {
            var agent: Int64
            var batch: Int64
        }
        let keys = batches.map {
            Key(agent: assignments[$0.agent.rawValue]?.agentID ?? 0, batch: Int64(bitPattern: $0.batchID))
        }
        let inserted = try await connection.rows(
            """
            INSERT INTO ingested_batches (agent_id, batch_id, received_at, measurement_count, digest)
            SELECT * FROM unnest(\(keys.map(\.agent))::bigint[], \(keys.map(\.batch))::bigint[],
                                 \(Array(repeating: now, count: keys.count))::bigint[],
                                 \(accepted.map { Int64($0.count) })::bigint[], \(batches.map(\.contentDigest))::bigint[])
            ON CONFLICT DO NOTHING RETURNING agent_id, batch_id
            """,
            logger
        )
        var fresh = Set(
            try inserted.map { row in
                let (agent, batch) = try row.decode((Int64, Int64).self)
                return Key(agent: agent, batch: batch)
            }
        )
        var new: [Bool] = []
        var earlier: [Key: Int64?] = [:]
        for (index, key) in keys.enumerated() {
            if fresh.remove(key) != nil {
                new.append(true)
                earlier[key] = .some(batches[index].contentDigest)
            } else {
                new.append(false)
            }
        }
        let missing = Set(zip(keys, new).filter { !$0.1 && earlier[$0.0] == nil }.map(\.0))
        if !missing.isEmpty {
            let list = Array(missing)
            for row in try await connection.rows(
                """
                SELECT b.agent_id, b.batch_id, b.digest FROM ingested_batches b
                JOIN unnest(\(list.map(\.agent))::bigint[], \(list.map(\.batch))::bigint[]) AS k(agent_id, batch_id)
                  ON b.agent_id = k.agent_id AND b.batch_id = k.batch_id
                """,
                logger
            ) {
                let (agent, batch, digest) = try row.decode((Int64, Int64, Int64?).self)
                earlier[Key(agent: agent, batch: batch)] = .some(digest)
            }
        }
        return (new, zip(keys, new).map { key, isNew in isNew ? nil : (earlier[key] ?? nil) })
    }

    public func lastBatchID(of agent: AgentName) async throws -> UInt64 {
        let logger = self.logger
        return try await read("reading the last batch id") { connection in
            // Ids are stored as Int64 bit patterns: those at or above 2^63 read negative and are the
            // largest unsigned, so the highest of them wins when there is one. Each MAX is one seek
            // on the (agent, batch id) primary key.
            let id = try await connection.rows(
                """
                SELECT COALESCE(
                    (SELECT MAX(batch_id) FROM ingested_batches WHERE agent_id = g.id AND batch_id < 0),
                    (SELECT MAX(batch_id) FROM ingested_batches WHERE agent_id = g.id))
                FROM agents g WHERE g.name = \(agent.rawValue)
                """,
                logger
            ).first?.decode(Int64?.self)
            return UInt64(bitPattern: id.flatMap { $0 } ?? 0)
        }
    }

    public func measurements(
        test: TestID,
        agent: AgentName?,
        range: TimeRange,
        limit: Int,
        newestFirst: Bool
    ) async throws -> [MeasurementRecord] {
        // One of two fixed orders, never input; the (test, agent, time, seq) key serves both.
        let order = newestFirst ? "m.started_at DESC, m.seq DESC" : "m.started_at, m.seq"
        let name = agent?.rawValue
        let logger = self.logger
        return try await read("reading measurements") { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: Self.measurementColumns) FROM measurements m JOIN agents g ON g.id = m.agent_id
                WHERE m.test_id = \(test.rawValue) AND (\(name)::text IS NULL OR g.name = \(name))
                  AND m.started_at >= \(range.from.unixNanos) AND m.started_at < \(range.to.unixNanos)
                ORDER BY \(unescaped: order) LIMIT \(max(0, limit))
                """,
                logger
            ).compactMap(Self.measurementRecord)
        }
    }

    public func measurementCount(test: TestID?) async throws -> Int {
        let id = test?.rawValue
        let logger = self.logger
        return try await read("counting measurements") { connection in
            try await connection.rows(
                "SELECT COUNT(*) FROM measurements WHERE \(id)::bigint IS NULL OR test_id = \(id)",
                logger
            ).first?.decode(Int.self) ?? 0
        }
    }

    public func progress(test: TestID) async throws -> TestProgress {
        let logger = self.logger
        return try await read("reading progress") { connection in
            let rows = try await connection.rows(
                "SELECT COUNT(*), MAX(started_at) FROM measurements WHERE test_id = \(test.rawValue)",
                logger
            )
            guard let row = rows.first else { return TestProgress(results: 0, lastResultAt: nil) }
            let (count, last) = try row.decode((Int, Int64?).self)
            return TestProgress(results: count, lastResultAt: last.map(Timestamp.init(unixNanos:)))
        }
    }

    public func series(_ query: SeriesQuery) async throws -> [SeriesBucket] {
        if let seconds = query.resolution.bucket.map({ Int64($0.components.seconds) }) {
            return try await rollupSeries(query, seconds: seconds)
        }
        let bucket = max(query.bucket.nanoseconds, 1)
        let from = query.range.from.unixNanos
        let to = query.range.to.unixNanos
        let test = query.test?.rawValue
        let agent = query.agent?.rawValue
        let kinds = query.kinds.map(\.rawValue)
        let logger = self.logger
        return try await read("reading a series") { connection in
            // Numeric bucket arithmetic: a range starting at Int64.min does not overflow.
            try await connection.rows(
                """
                SELECT g.name, m.kind,
                       (div(m.started_at::numeric - \(from), \(bucket)) * \(bucket) + \(from))::bigint AS bucket,
                       COUNT(*), COUNT(*) FILTER (WHERE m.status = 'ok'),
                       MIN(m.value), AVG(m.value), MAX(m.value), MIN(m.low), MAX(m.high), AVG(m.loss), AVG(m.jitter)
                FROM measurements m JOIN agents g ON g.id = m.agent_id
                WHERE m.started_at >= \(from) AND m.started_at < \(to)
                  AND (\(test)::bigint IS NULL OR m.test_id = \(test))
                  AND (\(agent)::text IS NULL OR g.name = \(agent))
                  AND (cardinality(\(kinds)::text[]) = 0 OR m.kind = ANY(\(kinds)::text[]))
                GROUP BY g.name, m.kind, bucket
                ORDER BY g.name, m.kind, bucket
                """,
                logger
            ).compactMap { row in
                let (name, kind, start, count, ok, min, avg, max, low, high, loss, jitter) = try row.decode(
                    (String, String, Int64, Int, Int, Double?, Double?, Double?, Double?, Double?, Double?, Double?)
                        .self
                )
                guard let agent = AgentName(name), let kind = ProbeKind(rawValue: kind) else { return nil }
                return SeriesBucket(
                    agent: agent,
                    kind: kind,
                    start: Timestamp(unixNanos: start),
                    count: count,
                    okCount: ok,
                    min: min,
                    avg: avg,
                    max: max,
                    low: low,
                    high: high,
                    lossPercent: loss,
                    jitterMicros: jitter
                )
            }
        }
    }

    public func latestMeasurements(tests: [TestID], since: Timestamp) async throws -> [MeasurementRecord] {
        guard !tests.isEmpty else { return [] }
        let ids = tests.map(\.rawValue)
        let logger = self.logger
        return try await read("reading the latest measurements") { connection in
            // Per assignment, the newest row is one backward seek on the (test, agent, time) key.
            try await connection.rows(
                """
                SELECT \(unescaped: Self.measurementColumns) FROM test_assignments a
                JOIN agents g ON g.id = a.agent_id
                CROSS JOIN LATERAL (
                    SELECT * FROM measurements x WHERE x.test_id = a.test_id AND x.agent_id = a.agent_id
                    ORDER BY x.started_at DESC, x.seq DESC LIMIT 1) m
                WHERE a.test_id = ANY(\(ids)) AND m.started_at >= \(since.unixNanos)
                ORDER BY a.test_id, g.name
                """,
                logger
            ).compactMap(Self.measurementRecord)
        }
    }

    /// The tests an agent holds now, and the periods it held others: a measurement is stored
    /// when its test is assigned now or was when it was measured. The history is read only for a
    /// batch that needs it, so the usual batch (every test current) costs one query.
    private final class Assignments {
        /// Agent clocks differ from ours: a measurement this close to a period's ends counts.
        static let clockSlack: Int64 = 60_000_000_000
        let agentID: Int64
        let current: Set<Int64>
        private var past: [Int64: [(from: Int64, to: Int64)]]?

        private init(agentID: Int64, current: Set<Int64>) {
            self.agentID = agentID
            self.current = current
        }

        /// The assignments of every agent in `agents` that has a session record, by name.
        static func load(
            _ connection: PostgresConnection,
            agents: [AgentName],
            _ logger: Logger
        ) async throws -> [String: Assignments] {
            let names = Array(Set(agents.map(\.rawValue)))
            var ids: [String: Int64] = [:]
            var current: [String: Set<Int64>] = [:]
            for row in try await connection.rows(
                """
                SELECT g.name, g.id, a.test_id FROM agents g LEFT JOIN test_assignments a ON a.agent_id = g.id
                WHERE g.name = ANY(\(names)::text[])
                """,
                logger
            ) {
                let (name, id, test) = try row.decode((String, Int64, Int64?).self)
                ids[name] = id
                if let test { current[name, default: []].insert(test) }
            }
            return ids.reduce(into: [:]) { all, entry in
                all[entry.key] = Assignments(agentID: entry.value, current: current[entry.key] ?? [])
            }
        }

        func covers(
            _ test: Int64,
            at time: Int64,
            _ connection: PostgresConnection,
            _ logger: Logger
        ) async throws -> Bool {
            if current.contains(test) { return true }
            let periods: [Int64: [(from: Int64, to: Int64)]]
            if let past {
                periods = past
            } else {
                var loaded: [Int64: [(from: Int64, to: Int64)]] = [:]
                for row in try await connection.rows(
                    """
                    SELECT test_id, from_ts, to_ts FROM assignment_periods WHERE agent_id = \(agentID) AND to_ts IS NOT NULL
                    """,
                    logger
                ) {
                    let (id, from, to) = try row.decode((Int64, Int64, Int64).self)
                    loaded[id, default: []].append((from, to))
                }
                past = loaded
                periods = loaded
            }
            return periods[test]?.contains { time >= $0.from - Self.clockSlack && time <= $0.to + Self.clockSlack }
                ?? false
        }
    }

    private struct StoredKey: Hashable {
        var test: TestID
        var agent: AgentName
    }

    /// Rows per INSERT: each column goes as one array bind, so a statement's size is not bounded
    /// by the protocol's 65,535 binds; this only bounds one message's memory.
    static let rowsPerInsert = 10_000

    /// Inserts `rows` with one INSERT ... SELECT FROM unnest(column arrays) per 10,000 rows: binary
    /// arrays, one bind per column, which PostgreSQL parses far faster than 15 binds per row. A row
    /// already stored (same test, agent, time and sequence) is skipped, as SQLite's INSERT OR
    /// IGNORE does. The arrays carry no NULLs here: an absent number goes as NaN, stored as NULL (a
    /// NaN figure means "none" anyway).
    private static func insertMeasurements(
        _ rows: [(MeasurementRecord, Int64)],
        _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws {
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + rowsPerInsert)]
            let tests = chunk.map { $0.0.testID.rawValue }
            let agents = chunk.map(\.1)
            let started = chunk.map { $0.0.startedAt.unixNanos }
            let sequences = chunk.map { Int64(bitPattern: $0.0.sequence) }
            let revisions = chunk.map { Int64($0.0.revision) }
            let kinds = chunk.map { $0.0.kind.rawValue }
            let statuses = chunk.map { $0.0.status.rawValue }
            let durations = chunk.map { $0.0.duration.nanoseconds }
            let values = chunk.map { $0.0.value ?? .nan }
            let reasons = chunk.map { $0.0.reason }
            let payloads = chunk.map { ByteBuffer(bytes: $0.0.payload) }
            let losses = chunk.map { $0.0.figures.lossPercent ?? .nan }
            let jitters = chunk.map { $0.0.figures.jitterMicros ?? .nan }
            let lows = chunk.map { $0.0.figures.low ?? .nan }
            let highs = chunk.map { $0.0.figures.high ?? .nan }
            try await connection.run(
                """
                INSERT INTO measurements (test_id, agent_id, started_at, seq, revision, kind, status, duration_ns,
                    value, reason, payload, loss, jitter, low, high)
                SELECT t, a, s, q, r, k, st, d, NULLIF(v, 'NaN'), re, p, NULLIF(l, 'NaN'), NULLIF(j, 'NaN'),
                       NULLIF(lo, 'NaN'), NULLIF(hi, 'NaN')
                FROM unnest(\(tests)::bigint[], \(agents)::bigint[], \(started)::bigint[], \(sequences)::bigint[],
                            \(revisions)::bigint[], \(kinds)::text[], \(statuses)::text[], \(durations)::bigint[],
                            \(values)::float8[], \(reasons)::text[], \(payloads)::bytea[], \(losses)::float8[],
                            \(jitters)::float8[], \(lows)::float8[], \(highs)::float8[])
                     AS x(t, a, s, q, r, k, st, d, v, re, p, l, j, lo, hi)
                ON CONFLICT DO NOTHING
                """,
                logger
            )
            start += chunk.count
        }
    }

    static let measurementColumns = """
        m.test_id, m.revision, g.name, m.seq, m.kind, m.started_at, m.duration_ns, m.status, m.reason, m.value,
        m.loss, m.jitter, m.low, m.high, m.payload
        """

    static func measurementRecord(_ row: PostgresRow) throws -> MeasurementRecord? {
        let (
            test, revision, name, seq, kind, started, duration, status, reason, value, loss, jitter, low, high, payload
        ) =
            try row.decode(
                (
                    Int64, Int, String, Int64, String, Int64, Int64, String, String, Double?, Double?, Double?, Double?,
                    Double?, Data
                ).self
            )
        guard let agent = AgentName(name), let kind = ProbeKind(rawValue: kind),
            let status = MeasurementStatus(rawValue: status)
        else { return nil }
        return MeasurementRecord(
            testID: TestID(test),
            revision: revision,
            agent: agent,
            sequence: UInt64(bitPattern: seq),
            kind: kind,
            startedAt: Timestamp(unixNanos: started),
            duration: .nanoseconds(duration),
            status: status,
            reason: reason,
            value: value,
            figures: MeasurementFigures(lossPercent: loss, jitterMicros: jitter, low: low, high: high),
            payload: payload
        )
    }
}
