import GRDB
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// RollupStore: 1-minute and 1-hour aggregates of the raw rows, and retention.
extension SQLiteStore {
    /// The watermark row that says where raw rows are kept from (the last prune's cutoff).
    static let rawKeptFromKey: Int64 = 0

    public func rollUp(closedBefore: Timestamp, maxSpan: Duration) async throws -> RollupReport {
        let end = closedBefore.unixNanos
        let span = max(maxSpan.nanoseconds, 3_600_000_000_000)
        return try await write { db in
            var buckets: [SeriesResolution: Int] = [:]
            var caughtUp = true
            let late = try Self.rollUpLate(db)
            for (resolution, seconds) in SeriesResolution.rolledUp {
                let size = seconds * 1_000_000_000
                let start = try Self.watermark(db, seconds) ?? Self.firstBucket(db, size: size, before: end)
                let limit = SeriesResolution.bucketStart(end, size: size)
                let stop = min(limit, SeriesResolution.bucketStart(start + span, size: size))
                if stop < limit { caughtUp = false }
                guard stop > start else {
                    try Self.setWatermark(db, seconds, max(start, 0))
                    continue
                }
                let groups = try Self.aggregate(db, size: size, range: start..<stop)
                for (key, aggregate) in groups { try Self.upsert(db, seconds: seconds, key: key, aggregate) }
                try Self.setWatermark(db, seconds, stop)
                buckets[resolution] = groups.count
            }
            for (resolution, count) in late.written { buckets[resolution, default: 0] += count }
            return RollupReport(
                buckets: buckets,
                lateBuckets: late.buckets,
                watermarks: try Self.watermarks(db),
                caughtUp: caughtUp
            )
        }
    }

    public func prune(_ policy: RetentionPolicy, now: Timestamp) async throws -> PruneReport {
        try policy.validate()
        let cutoffs = (
            raw: (now - policy.raw).unixNanos,
            minute: (now - policy.minute).unixNanos,
            hour: (now - policy.hour).unixNanos
        )
        return try await write { db in
            // Late rows first (this transaction holds the only writer), so none is removed unrolled.
            _ = try Self.rollUpLate(db)
            // Raw rows go only where both rollups are complete.
            let rolled = min(try Self.watermark(db, 60) ?? Int64.min, try Self.watermark(db, 3600) ?? Int64.min)
            // Hour-aligned: every hour bucket is then either whole in the raw rows or gone from them.
            let rawCutoff =
                rolled == Int64.min
                ? rolled : SeriesResolution.bucketStart(min(cutoffs.raw, rolled), size: 3_600_000_000_000)
            var raw = 0
            if rawCutoff > Int64.min {
                // Per (test, agent): the table is clustered on (test, agent, ts), so each delete seeks.
                let pairs = try Row.fetchAll(db, sql: "SELECT t.id, g.id FROM tests t JOIN agents g")
                let delete = try db.cachedStatement(
                    sql: "DELETE FROM measurements WHERE test_id = ? AND agent_id = ? AND ts < ?"
                )
                for pair in pairs {
                    try delete.execute(arguments: [pair[0], pair[1], rawCutoff])
                    raw += db.changesCount
                }
                let keptFrom = try Self.watermark(db, Self.rawKeptFromKey) ?? Int64.min
                try Self.setWatermark(db, Self.rawKeptFromKey, max(keptFrom, rawCutoff))
            }
            try db.execute(
                sql: "DELETE FROM rollups WHERE resolution = 60 AND bucket < ?",
                arguments: [cutoffs.minute]
            )
            let minute = db.changesCount
            try db.execute(
                sql: "DELETE FROM rollups WHERE resolution = 3600 AND bucket < ?",
                arguments: [cutoffs.hour]
            )
            return PruneReport(raw: raw, minute: minute, hour: db.changesCount)
        }
    }

    public func rollupWatermarks() async throws -> [SeriesResolution: Timestamp] {
        try await read { db in try Self.watermarks(db) }
    }

    // MARK: - Series from rollups

    /// Buckets of `query` from the rollups of its resolution, plus the raw rows after the rollup's
    /// watermark (not rolled up yet), merged where a bucket has both.
    func rollupSeries(_ query: SeriesQuery, seconds: Int64) async throws -> [SeriesBucket] {
        let bucket = max(query.bucket.nanoseconds, 1)
        let from = query.range.from.unixNanos
        let to = query.range.to.unixNanos
        return try await read { db in
            let through = try Self.watermark(db, seconds) ?? Int64.min
            var filters = ""
            var filterArguments: StatementArguments = []
            if let test = query.test {
                filters += " AND x.test_id = ?"
                filterArguments += [test.rawValue]
            }
            if let agent = query.agent {
                filters += " AND x.agent_id = (SELECT id FROM agents WHERE name = ?)"
                filterArguments += [agent.rawValue]
            }
            if !query.kinds.isEmpty {
                filters += " AND x.kind IN (\(Array(repeating: "?", count: query.kinds.count).joined(separator: ",")))"
                filterArguments += StatementArguments(query.kinds.map(\.rawValue))
            }
            var merged: [SeriesKey: SeriesAggregate] = [:]
            let rolledTo = min(to, through)
            if rolledTo > from {
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT g.name, x.kind, ((x.bucket - ?) / ?) * ? + ? AS slot, x.count, x.ok_count,
                               x.value_count, x.value_sum, x.value_min, x.value_max, x.low_min, x.high_max,
                               x.loss_count, x.loss_sum, x.jitter_count, x.jitter_sum, x.p50, x.p90, x.p99
                        FROM rollups x JOIN agents g ON g.id = x.agent_id
                        WHERE x.resolution = ? AND x.bucket >= ? AND x.bucket < ?\(filters)
                        """,
                    arguments: [from, bucket, bucket, from, seconds, from, rolledTo] + filterArguments
                )
                for row in rows {
                    guard let key = SeriesKey(row) else { continue }
                    var aggregate = Self.aggregate(row, offset: 3)
                    aggregate.p50 = row[15]
                    aggregate.p90 = row[16]
                    aggregate.p99 = row[17]
                    merged[key, default: SeriesAggregate()].merge(aggregate)
                }
            }
            let rawFrom = max(from, through)
            if to > rawFrom {
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT g.name, x.kind, ((x.ts - ?) / ?) * ? + ? AS slot, COUNT(*), SUM(x.status = 'ok'),
                               COUNT(x.value), TOTAL(x.value), MIN(x.value), MAX(x.value), MIN(x.low), MAX(x.high),
                               COUNT(x.loss), TOTAL(x.loss), COUNT(x.jitter), TOTAL(x.jitter)
                        FROM measurements x JOIN agents g ON g.id = x.agent_id
                        WHERE x.ts >= ? AND x.ts < ?\(filters)\(query.agent == nil ? " AND x.agent_id IN (SELECT id FROM agents)" : "")
                        GROUP BY x.agent_id, x.kind, slot
                        """,
                    arguments: [from, bucket, bucket, from, rawFrom, to] + filterArguments
                )
                for row in rows {
                    guard let key = SeriesKey(row) else { continue }
                    merged[key, default: SeriesAggregate()].merge(Self.aggregate(row, offset: 3))
                }
            }
            return merged.sorted { $0.key < $1.key }.map { key, aggregate in
                aggregate.bucket(agent: key.agent, kind: key.kind, start: Timestamp(unixNanos: key.slot))
            }
        }
    }

    struct SeriesKey: Hashable, Comparable {
        var agent: AgentName
        var kind: ProbeKind
        var slot: Int64

        init?(_ row: Row) {
            guard let agent = AgentName(row[0]), let kind = ProbeKind(rawValue: row[1]) else { return nil }
            self.agent = agent
            self.kind = kind
            self.slot = row[2]
        }

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.agent.rawValue, lhs.kind.rawValue, lhs.slot) < (rhs.agent.rawValue, rhs.kind.rawValue, rhs.slot)
        }
    }

    // MARK: - Rolling up

    /// One rollup row's key.
    struct RollupKey: Hashable {
        var test: Int64
        var agent: Int64
        var kind: String
        var bucket: Int64
    }

    /// Aggregates of the raw rows in `range`, by (test, agent, kind, bucket of `size`), with exact
    /// percentiles of the values. `only` restricts to one (test, agent).
    static func aggregate(
        _ db: Database,
        size: Int64,
        range: Range<Int64>,
        only: (test: Int64, agent: Int64)? = nil
    ) throws -> [RollupKey: SeriesAggregate] {
        // Tests × agents, then a seek into the (test, agent, ts) clustering for each pair: no scan
        // of the whole table, which has no index on time alone.
        let source =
            only == nil
            ? "tests t JOIN agents g JOIN measurements m ON m.test_id = t.id AND m.agent_id = g.id"
            : "measurements m"
        let pair = only == nil ? "" : " AND m.test_id = ? AND m.agent_id = ?"
        var arguments: StatementArguments = [size, size, range.lowerBound, range.upperBound]
        if let only { arguments += [only.test, only.agent] }
        var groups: [RollupKey: SeriesAggregate] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT m.test_id, m.agent_id, m.kind, (m.ts / ?) * ? AS bucket, COUNT(*), SUM(m.status = 'ok'),
                       COUNT(m.value), TOTAL(m.value), MIN(m.value), MAX(m.value), MIN(m.low), MAX(m.high),
                       COUNT(m.loss), TOTAL(m.loss), COUNT(m.jitter), TOTAL(m.jitter)
                FROM \(source)
                WHERE m.ts >= ? AND m.ts < ?\(pair)
                GROUP BY m.test_id, m.agent_id, m.kind, bucket
                """,
            arguments: arguments
        )
        while let row = try rows.next() {
            groups[RollupKey(test: row[0], agent: row[1], kind: row[2], bucket: row[3])] = aggregate(row, offset: 4)
        }
        guard !groups.isEmpty else { return groups }
        var values: [RollupKey: [Double]] = [:]
        let valueRows = try Row.fetchCursor(
            db,
            sql: """
                SELECT m.test_id, m.agent_id, m.kind, (m.ts / ?) * ? AS bucket, m.value
                FROM \(source)
                WHERE m.ts >= ? AND m.ts < ?\(pair) AND m.value IS NOT NULL
                """,
            arguments: arguments
        )
        while let row = try valueRows.next() {
            values[RollupKey(test: row[0], agent: row[1], kind: row[2], bucket: row[3]), default: []].append(row[4])
        }
        for (key, list) in values {
            let sorted = list.sorted()
            groups[key]?.p50 = SeriesAggregate.percentile(sorted, 0.5)
            groups[key]?.p90 = SeriesAggregate.percentile(sorted, 0.9)
            groups[key]?.p99 = SeriesAggregate.percentile(sorted, 0.99)
        }
        return groups
    }

    /// Reads COUNT, ok count, value count/sum/min/max, low, high, loss and jitter counts and sums
    /// from `row`, starting at column `offset`.
    static func aggregate(_ row: Row, offset: Int) -> SeriesAggregate {
        var aggregate = SeriesAggregate()
        aggregate.count = row[offset]
        aggregate.okCount = row[offset + 1] ?? 0
        aggregate.valueCount = row[offset + 2]
        aggregate.valueSum = row[offset + 3]
        aggregate.min = row[offset + 4]
        aggregate.max = row[offset + 5]
        aggregate.low = row[offset + 6]
        aggregate.high = row[offset + 7]
        aggregate.lossCount = row[offset + 8]
        aggregate.lossSum = row[offset + 9]
        aggregate.jitterCount = row[offset + 10]
        aggregate.jitterSum = row[offset + 11]
        return aggregate
    }

    static func upsert(_ db: Database, seconds: Int64, key: RollupKey, _ a: SeriesAggregate) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO rollups
                    (resolution, test_id, agent_id, bucket, kind, count, ok_count, value_count, value_sum,
                     value_min, value_max, p50, p90, p99, low_min, high_max, loss_count, loss_sum,
                     jitter_count, jitter_sum)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        )
        try statement.execute(arguments: [
            seconds, key.test, key.agent, key.bucket, key.kind, a.count, a.okCount, a.valueCount, a.valueSum,
            a.min, a.max, a.p50, a.p90, a.p99, a.low, a.high, a.lossCount, a.lossSum, a.jitterCount, a.jitterSum,
        ])
    }

    /// The stored rollup rows of one (test, agent, bucket), by kind.
    static func storedRollups(
        _ db: Database,
        seconds: Int64,
        test: Int64,
        agent: Int64,
        bucket: Int64
    ) throws
        -> [String: SeriesAggregate]
    {
        var stored: [String: SeriesAggregate] = [:]
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT kind, count, ok_count, value_count, value_sum, value_min, value_max, low_min, high_max,
                       loss_count, loss_sum, jitter_count, jitter_sum, p50, p90, p99
                FROM rollups WHERE resolution = ? AND test_id = ? AND agent_id = ? AND bucket = ?
                """,
            arguments: [seconds, test, agent, bucket]
        )
        for row in rows {
            var aggregate = aggregate(row, offset: 1)
            aggregate.p50 = row[13]
            aggregate.p90 = row[14]
            aggregate.p99 = row[15]
            stored[row[0]] = aggregate
        }
        return stored
    }

    /// Rolls up again every bucket marked late. Where the raw rows are kept, the bucket is made
    /// anew from them; where retention already removed the bucket's older rows, the late rows are
    /// merged into the stored rollups (minute and hour) and removed, so they count once.
    static func rollUpLate(_ db: Database) throws -> (buckets: Int, written: [SeriesResolution: Int]) {
        let keptFrom = try watermark(db, rawKeptFromKey) ?? Int64.min
        let marks = try Row.fetchAll(
            db,
            sql: "SELECT resolution, test_id, agent_id, bucket FROM rollup_late ORDER BY resolution DESC, bucket"
        )
        var written: [SeriesResolution: Int] = [:]
        for mark in marks {
            let seconds: Int64 = mark[0]
            let test: Int64 = mark[1]
            let agent: Int64 = mark[2]
            let bucket: Int64 = mark[3]
            let size = seconds * 1_000_000_000
            guard let resolution = SeriesResolution.rolledUp.first(where: { $0.seconds == seconds })?.resolution else {
                continue
            }
            if bucket < keptFrom {
                guard seconds == 60 else { continue }  // Pruned hours are merged through their minutes.
                let fresh = try aggregate(db, size: size, range: bucket..<(bucket + size), only: (test, agent))
                for (key, late) in fresh {
                    for (other, otherSeconds) in SeriesResolution.rolledUp {
                        let otherBucket = SeriesResolution.bucketStart(bucket, size: otherSeconds * 1_000_000_000)
                        var combined =
                            try storedRollups(db, seconds: otherSeconds, test: test, agent: agent, bucket: otherBucket)[
                                key.kind
                            ] ?? SeriesAggregate()
                        combined.merge(late)
                        var target = key
                        target.bucket = otherBucket
                        try upsert(db, seconds: otherSeconds, key: target, combined)
                        written[other, default: 0] += 1
                    }
                }
                try db.execute(
                    sql: "DELETE FROM measurements WHERE test_id = ? AND agent_id = ? AND ts >= ? AND ts < ?",
                    arguments: [test, agent, bucket, bucket + size]
                )
            } else {
                try db.execute(
                    sql: "DELETE FROM rollups WHERE resolution = ? AND test_id = ? AND agent_id = ? AND bucket = ?",
                    arguments: [seconds, test, agent, bucket]
                )
                let fresh = try aggregate(db, size: size, range: bucket..<(bucket + size), only: (test, agent))
                for (key, aggregate) in fresh { try upsert(db, seconds: seconds, key: key, aggregate) }
                written[resolution, default: 0] += fresh.count
            }
        }
        try db.execute(sql: "DELETE FROM rollup_late")
        return (marks.count, written)
    }

    // MARK: - Watermarks and late marks

    static func watermark(_ db: Database, _ seconds: Int64) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT through FROM rollup_watermarks WHERE resolution = ?", arguments: [seconds])
    }

    static func setWatermark(_ db: Database, _ seconds: Int64, _ through: Int64) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO rollup_watermarks (resolution, through) VALUES (?, ?)",
            arguments: [seconds, through]
        )
    }

    static func watermarks(_ db: Database) throws -> [SeriesResolution: Timestamp] {
        var marks: [SeriesResolution: Timestamp] = [:]
        for (resolution, seconds) in SeriesResolution.rolledUp {
            if let through = try watermark(db, seconds) { marks[resolution] = Timestamp(unixNanos: through) }
        }
        if let kept = try watermark(db, rawKeptFromKey) { marks[.raw] = Timestamp(unixNanos: kept) }
        return marks
    }

    /// The first bucket to roll up on a store that never did: the oldest measurement's, or the
    /// bucket `before` falls in when there is none.
    private static func firstBucket(_ db: Database, size: Int64, before: Int64) throws -> Int64 {
        let oldest = try Int64.fetchOne(
            db,
            sql: """
                SELECT MIN(m.ts) FROM tests t JOIN agents g JOIN measurements m
                ON m.test_id = t.id AND m.agent_id = g.id
                """
        )
        return max(SeriesResolution.bucketStart(min(oldest ?? before, before), size: size), 0)
    }

    /// Marks the buckets that measurements stored in this transaction reach after they were
    /// rolled up. The watermarks are read once per commit; a usual batch is newer than both.
    struct LateMarks {
        let through: [(seconds: Int64, through: Int64)]
        let mark: Statement?

        init(_ db: Database) throws {
            var through: [(Int64, Int64)] = []
            for (_, seconds) in SeriesResolution.rolledUp {
                if let value = try SQLiteStore.watermark(db, seconds) { through.append((seconds, value)) }
            }
            self.through = through
            mark =
                through.isEmpty
                ? nil
                : try db.cachedStatement(
                    sql: "INSERT OR IGNORE INTO rollup_late (resolution, test_id, agent_id, bucket) VALUES (?, ?, ?, ?)"
                )
        }

        func note(_ m: MeasurementRecord, agentID: Int64) throws {
            guard let mark else { return }
            let ts = m.startedAt.unixNanos
            for (seconds, through) in self.through where ts < through {
                try mark.execute(arguments: [
                    seconds, m.testID.rawValue, agentID,
                    SeriesResolution.bucketStart(ts, size: seconds * 1_000_000_000),
                ])
            }
        }
    }
}
