import Logging
import PostgresNIO
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// RollupStore: 1-minute and 1-hour aggregates of the raw rows, and retention (as on SQLite).
//
// Ingest and rollup agree through the watermark rows: a commit reads them FOR SHARE (and marks a
// measurement late when it falls before one), a rollup locks them FOR UPDATE before it reads the raw
// rows. So a commit either finished before the rollup read (its rows are rolled up) or starts after
// the rollup committed (it sees the new watermark and marks its rows late): none slips between.
extension PostgresStore {
    /// The watermark row that says where raw rows are kept from (the last prune's cutoff).
    static let rawKeptFromKey: Int64 = 0
    static let second: Int64 = 1_000_000_000

    public func rollUp(closedBefore: Timestamp, maxSpan: Duration) async throws -> RollupReport {
        let end = closedBefore.unixNanos
        let span = max(maxSpan.nanoseconds, 3600 * Self.second)
        let logger = self.logger
        return try await transaction("rolling up measurements") { connection in
            let marks = try await Self.lockWatermarks(connection, logger)
            var buckets: [SeriesResolution: Int] = [:]
            var caughtUp = true
            let late = try await Self.rollUpLate(connection, keptFrom: marks[Self.rawKeptFromKey] ?? nil, logger)
            for (resolution, seconds) in SeriesResolution.rolledUp {
                let size = seconds * Self.second
                let start: Int64
                if let through = marks[seconds] ?? nil {
                    start = through
                } else {
                    start = try await Self.firstBucket(connection, size: size, before: end, logger)
                }
                let limit = SeriesResolution.bucketStart(end, size: size)
                let stop = min(limit, SeriesResolution.bucketStart(start + span, size: size))
                if stop < limit { caughtUp = false }
                if stop > start {
                    buckets[resolution] = try await Self.aggregate(
                        connection,
                        seconds: seconds,
                        range: start..<stop,
                        merge: false,
                        logger
                    )
                }
                try await connection.run(
                    "UPDATE rollup_watermarks SET through = \(max(stop, start)) WHERE resolution = \(seconds)",
                    logger
                )
            }
            for (resolution, count) in late.written { buckets[resolution, default: 0] += count }
            return RollupReport(
                buckets: buckets,
                lateBuckets: late.buckets,
                watermarks: try await Self.watermarks(connection, logger),
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
        let logger = self.logger
        return try await transaction("pruning measurements and rollups") { connection in
            let marks = try await Self.lockWatermarks(connection, logger)
            // Late rows first (the watermarks are locked: no commit runs beside), so none goes unrolled.
            _ = try await Self.rollUpLate(connection, keptFrom: marks[Self.rawKeptFromKey] ?? nil, logger)
            var raw = 0
            if let minute = marks[60] ?? nil, let hour = marks[3600] ?? nil {
                // Hour-aligned: every hour bucket is then either whole in the raw rows or gone from them.
                let cutoff = SeriesResolution.bucketStart(min(cutoffs.raw, minute, hour), size: 3600 * Self.second)
                raw = try await connection.run(
                    "DELETE FROM measurements WHERE started_at < \(cutoff) RETURNING 1",
                    logger
                )
                try await connection.run(
                    """
                    UPDATE rollup_watermarks SET through = GREATEST(COALESCE(through, \(cutoff)), \(cutoff))
                    WHERE resolution = \(Self.rawKeptFromKey)
                    """,
                    logger
                )
            }
            let minute = try await connection.run(
                "DELETE FROM rollups WHERE resolution = 60 AND bucket < \(cutoffs.minute) RETURNING 1",
                logger
            )
            let hour = try await connection.run(
                "DELETE FROM rollups WHERE resolution = 3600 AND bucket < \(cutoffs.hour) RETURNING 1",
                logger
            )
            return PruneReport(raw: raw, minute: minute, hour: hour)
        }
    }

    public func rollupWatermarks() async throws -> [SeriesResolution: Timestamp] {
        let logger = self.logger
        return try await read("reading rollup watermarks") { connection in try await Self.watermarks(connection, logger)
        }
    }

    // MARK: - Rolling up

    /// Aggregates the raw rows in `range` into rollups of `seconds`, exact percentiles included;
    /// `merge` adds them to stored rollups (late rows whose bucket's other raw rows are gone) instead
    /// of replacing them. `only` restricts to one (test, agent). Returns the rows written.
    static func aggregate(
        _ connection: PostgresConnection,
        seconds: Int64,
        range: Range<Int64>,
        merge: Bool,
        only: (test: Int64, agent: Int64)? = nil,
        _ logger: Logger
    ) async throws -> Int {
        let size = seconds * second
        let test = only?.test
        let agent = only?.agent
        // A fixed choice of two texts, never input.
        let onConflict =
            merge
            ? """
            count = rollups.count + excluded.count, ok_count = rollups.ok_count + excluded.ok_count,
            p50 = \(weighted("p50")), p90 = \(weighted("p90")), p99 = \(weighted("p99")),
            value_count = rollups.value_count + excluded.value_count,
            value_sum = rollups.value_sum + excluded.value_sum,
            value_min = LEAST(rollups.value_min, excluded.value_min),
            value_max = GREATEST(rollups.value_max, excluded.value_max),
            low_min = LEAST(rollups.low_min, excluded.low_min), high_max = GREATEST(rollups.high_max, excluded.high_max),
            loss_count = rollups.loss_count + excluded.loss_count, loss_sum = rollups.loss_sum + excluded.loss_sum,
            jitter_count = rollups.jitter_count + excluded.jitter_count,
            jitter_sum = rollups.jitter_sum + excluded.jitter_sum
            """
            : """
            count = excluded.count, ok_count = excluded.ok_count, value_count = excluded.value_count,
            value_sum = excluded.value_sum, value_min = excluded.value_min, value_max = excluded.value_max,
            p50 = excluded.p50, p90 = excluded.p90, p99 = excluded.p99, low_min = excluded.low_min,
            high_max = excluded.high_max, loss_count = excluded.loss_count, loss_sum = excluded.loss_sum,
            jitter_count = excluded.jitter_count, jitter_sum = excluded.jitter_sum
            """
        return try await connection.run(
            """
            INSERT INTO rollups AS rollups
                (resolution, test_id, agent_id, bucket, kind, count, ok_count, value_count, value_sum, value_min,
                 value_max, p50, p90, p99, low_min, high_max, loss_count, loss_sum, jitter_count, jitter_sum)
            SELECT \(Int32(seconds)), m.test_id, m.agent_id, (m.started_at / \(size)) * \(size), m.kind,
                   COUNT(*), COUNT(*) FILTER (WHERE m.status = 'ok'), COUNT(m.value), COALESCE(SUM(m.value), 0),
                   MIN(m.value), MAX(m.value),
                   percentile_disc(0.5) WITHIN GROUP (ORDER BY m.value),
                   percentile_disc(0.9) WITHIN GROUP (ORDER BY m.value),
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY m.value),
                   MIN(m.low), MAX(m.high), COUNT(m.loss), COALESCE(SUM(m.loss), 0),
                   COUNT(m.jitter), COALESCE(SUM(m.jitter), 0)
            FROM measurements m
            WHERE m.started_at >= \(range.lowerBound) AND m.started_at < \(range.upperBound)
              AND (\(test)::bigint IS NULL OR m.test_id = \(test)) AND (\(agent)::bigint IS NULL OR m.agent_id = \(agent))
            GROUP BY m.test_id, m.agent_id, m.kind, 4
            ON CONFLICT (resolution, test_id, agent_id, bucket, kind) DO UPDATE SET \(unescaped: onConflict)
            RETURNING 1
            """,
            logger
        )
    }

    /// A percentile of merged rollups: the count-weighted mean of both (either alone when one has none).
    private static func weighted(_ column: String) -> String {
        """
        CASE WHEN rollups.\(column) IS NULL THEN excluded.\(column) WHEN excluded.\(column) IS NULL THEN rollups.\(column)
             ELSE (rollups.\(column) * rollups.value_count + excluded.\(column) * excluded.value_count)
                  / NULLIF(rollups.value_count + excluded.value_count, 0) END
        """
    }

    /// Rolls up again every bucket marked late: anew from the raw rows where they are kept; where
    /// retention removed the bucket's older rows, the late rows are added to the stored minute and
    /// hour rollups and removed, so they count once.
    static func rollUpLate(
        _ connection: PostgresConnection,
        keptFrom: Int64?,
        _ logger: Logger
    ) async throws -> (buckets: Int, written: [SeriesResolution: Int]) {
        let marks = try await connection.rows(
            "DELETE FROM rollup_late RETURNING resolution, test_id, agent_id, bucket",
            logger
        ).map { try $0.decode((Int32, Int64, Int64, Int64).self) }
        var written: [SeriesResolution: Int] = [:]
        for (seconds32, test, agent, bucket) in marks {
            let seconds = Int64(seconds32)
            guard let resolution = SeriesResolution.rolledUp.first(where: { $0.seconds == seconds })?.resolution else {
                continue
            }
            let size = seconds * second
            if let keptFrom, bucket < keptFrom {
                guard seconds == 60 else { continue }  // Pruned hours are merged through their minutes.
                for (other, otherSeconds) in SeriesResolution.rolledUp {
                    written[other, default: 0] += try await aggregate(
                        connection,
                        seconds: otherSeconds,
                        range: bucket..<(bucket + size),
                        merge: true,
                        only: (test, agent),
                        logger
                    )
                }
                try await connection.run(
                    """
                    DELETE FROM measurements WHERE test_id = \(test) AND agent_id = \(agent)
                      AND started_at >= \(bucket) AND started_at < \(bucket + size)
                    """,
                    logger
                )
            } else {
                try await connection.run(
                    """
                    DELETE FROM rollups WHERE resolution = \(Int32(seconds)) AND test_id = \(test)
                      AND agent_id = \(agent) AND bucket = \(bucket)
                    """,
                    logger
                )
                written[resolution, default: 0] += try await aggregate(
                    connection,
                    seconds: seconds,
                    range: bucket..<(bucket + size),
                    merge: false,
                    only: (test, agent),
                    logger
                )
            }
        }
        return (marks.count, written)
    }

    // MARK: - Watermarks

    /// Locks the watermark rows (commits wait; see the top of this file) and reads them: bucket
    /// seconds (0 for "raw kept from") → through, nil before the first rollup or prune.
    static func lockWatermarks(_ connection: PostgresConnection, _ logger: Logger) async throws -> [Int64: Int64?] {
        var marks: [Int64: Int64?] = [:]
        for row in try await connection.rows(
            "SELECT resolution, through FROM rollup_watermarks ORDER BY resolution FOR UPDATE",
            logger
        ) {
            let (resolution, through) = try row.decode((Int32, Int64?).self)
            marks[Int64(resolution)] = through
        }
        return marks
    }

    static func watermarks(
        _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws -> [SeriesResolution: Timestamp] {
        var marks: [SeriesResolution: Timestamp] = [:]
        for row in try await connection.rows("SELECT resolution, through FROM rollup_watermarks", logger) {
            let (resolution, through) = try row.decode((Int32, Int64?).self)
            guard let through else { continue }
            switch resolution {
            case 0: marks[.raw] = Timestamp(unixNanos: through)
            case 60: marks[.minute] = Timestamp(unixNanos: through)
            case 3600: marks[.hour] = Timestamp(unixNanos: through)
            default: continue
            }
        }
        return marks
    }

    /// The first bucket to roll up on a store that never did: the oldest measurement's, or the
    /// bucket `before` falls in when there is none.
    private static func firstBucket(
        _ connection: PostgresConnection,
        size: Int64,
        before: Int64,
        _ logger: Logger
    ) async throws -> Int64 {
        let oldest = try await connection.rows("SELECT MIN(started_at) FROM measurements", logger).first
            .flatMap { try $0.decode(Int64?.self) }
        return max(SeriesResolution.bucketStart(min(oldest ?? before, before), size: size), 0)
    }

    /// Marks, in a commit's transaction, the buckets its measurements reach after they were rolled up.
    struct LateMarks {
        let through: [(seconds: Int64, through: Int64)]

        /// Reads the watermarks FOR SHARE: a rollup waits for this commit, or this commit for it.
        static func load(_ connection: PostgresConnection, _ logger: Logger) async throws -> LateMarks {
            var through: [(Int64, Int64)] = []
            for row in try await connection.rows(
                "SELECT resolution, through FROM rollup_watermarks WHERE resolution > 0 ORDER BY resolution FOR SHARE",
                logger
            ) {
                let (resolution, value) = try row.decode((Int32, Int64?).self)
                if let value { through.append((Int64(resolution), value)) }
            }
            return LateMarks(through: through)
        }

        /// The late marks for `rows` (measurement start, test id, agent id), one statement.
        func note(
            _ rows: [(startedAt: Int64, test: Int64, agent: Int64)],
            _ connection: PostgresConnection,
            _ logger: Logger
        )
            async throws
        {
            guard !through.isEmpty else { return }
            var resolutions: [Int32] = []
            var tests: [Int64] = []
            var agents: [Int64] = []
            var buckets: [Int64] = []
            for row in rows {
                for (seconds, through) in self.through where row.startedAt < through {
                    resolutions.append(Int32(seconds))
                    tests.append(row.test)
                    agents.append(row.agent)
                    buckets.append(SeriesResolution.bucketStart(row.startedAt, size: seconds * PostgresStore.second))
                }
            }
            guard !buckets.isEmpty else { return }
            try await connection.run(
                """
                INSERT INTO rollup_late (resolution, test_id, agent_id, bucket)
                SELECT * FROM unnest(\(resolutions)::integer[], \(tests)::bigint[], \(agents)::bigint[], \(buckets)::bigint[])
                ON CONFLICT DO NOTHING
                """,
                logger
            )
        }
    }
}

// Series read from rollups, with the raw rows after the rollup's watermark merged in.
extension PostgresStore {
    func rollupSeries(_ query: SeriesQuery, seconds: Int64) async throws -> [SeriesBucket] {
        let bucket = max(query.bucket.nanoseconds, 1)
        let from = query.range.from.unixNanos
        let to = query.range.to.unixNanos
        let test = query.test?.rawValue
        let agent = query.agent?.rawValue
        let kinds = query.kinds.map(\.rawValue)
        let logger = self.logger
        return try await read("reading a series from rollups") { connection in
            let marks = try await Self.watermarks(connection, logger)
            let resolution: SeriesResolution = seconds == 60 ? .minute : .hour
            let through = marks[resolution]?.unixNanos ?? Int64.min
            var merged: [Key: SeriesAggregate] = [:]
            let rolledTo = min(to, through)
            if rolledTo > from {
                let rows = try await connection.rows(
                    """
                    SELECT g.name, x.kind, (div(x.bucket::numeric - \(from), \(bucket)) * \(bucket) + \(from))::bigint,
                           x.count, x.ok_count, x.value_count, x.value_sum, x.value_min, x.value_max, x.low_min,
                           x.high_max, x.loss_count, x.loss_sum, x.jitter_count, x.jitter_sum, x.p50, x.p90, x.p99
                    FROM rollups x JOIN agents g ON g.id = x.agent_id
                    WHERE x.resolution = \(Int32(seconds)) AND x.bucket >= \(from) AND x.bucket < \(rolledTo)
                      AND (\(test)::bigint IS NULL OR x.test_id = \(test))
                      AND (\(agent)::text IS NULL OR g.name = \(agent))
                      AND (cardinality(\(kinds)::text[]) = 0 OR x.kind = ANY(\(kinds)::text[]))
                    """,
                    logger
                )
                for row in rows {
                    guard let (key, aggregate) = try Self.seriesRow(row) else { continue }
                    merged[key, default: SeriesAggregate()].merge(aggregate)
                }
            }
            let rawFrom = max(from, through)
            if to > rawFrom {
                let rows = try await connection.rows(
                    """
                    SELECT g.name, m.kind, (div(m.started_at::numeric - \(from), \(bucket)) * \(bucket) + \(from))::bigint AS slot,
                           COUNT(*)::bigint, COUNT(*) FILTER (WHERE m.status = 'ok')::bigint, COUNT(m.value)::bigint,
                           COALESCE(SUM(m.value), 0), MIN(m.value), MAX(m.value), MIN(m.low), MAX(m.high),
                           COUNT(m.loss)::bigint, COALESCE(SUM(m.loss), 0), COUNT(m.jitter)::bigint,
                           COALESCE(SUM(m.jitter), 0), NULL::float8, NULL::float8, NULL::float8
                    FROM measurements m JOIN agents g ON g.id = m.agent_id
                    WHERE m.started_at >= \(rawFrom) AND m.started_at < \(to)
                      AND (\(test)::bigint IS NULL OR m.test_id = \(test))
                      AND (\(agent)::text IS NULL OR g.name = \(agent))
                      AND (cardinality(\(kinds)::text[]) = 0 OR m.kind = ANY(\(kinds)::text[]))
                    GROUP BY g.name, m.kind, slot
                    """,
                    logger
                )
                for row in rows {
                    guard let (key, aggregate) = try Self.seriesRow(row) else { continue }
                    merged[key, default: SeriesAggregate()].merge(aggregate)
                }
            }
            return merged.sorted { $0.key < $1.key }.map { key, aggregate in
                aggregate.bucket(agent: key.agent, kind: key.kind, start: Timestamp(unixNanos: key.slot))
            }
        }
    }

    struct Key: Hashable, Comparable {
        var agent: AgentName
        var kind: ProbeKind
        var slot: Int64

        init?(_ name: String, _ kind: String, _ slot: Int64) {
            guard let agent = AgentName(name), let kind = ProbeKind(rawValue: kind) else { return nil }
            self.agent = agent
            self.kind = kind
            self.slot = slot
        }

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.agent.rawValue, lhs.kind.rawValue, lhs.slot) < (rhs.agent.rawValue, rhs.kind.rawValue, rhs.slot)
        }
    }

    /// One row of either series query: agent, kind, slot, then the aggregate's columns.
    private static func seriesRow(_ row: PostgresRow) throws -> (Key, SeriesAggregate)? {
        let columns = row.makeRandomAccess()
        guard
            let key = Key(
                try columns[0].decode(String.self),
                try columns[1].decode(String.self),
                try columns[2].decode(Int64.self)
            )
        else { return nil }
        var aggregate = SeriesAggregate()
        aggregate.count = Int(try columns[3].decode(Int64.self))
        aggregate.okCount = Int(try columns[4].decode(Int64.self))
        aggregate.valueCount = Int(try columns[5].decode(Int64.self))
        aggregate.valueSum = try columns[6].decode(Double.self)
        aggregate.min = try columns[7].decode(Double?.self)
        aggregate.max = try columns[8].decode(Double?.self)
        aggregate.low = try columns[9].decode(Double?.self)
        aggregate.high = try columns[10].decode(Double?.self)
        aggregate.lossCount = Int(try columns[11].decode(Int64.self))
        aggregate.lossSum = try columns[12].decode(Double.self)
        aggregate.jitterCount = Int(try columns[13].decode(Int64.self))
        aggregate.jitterSum = try columns[14].decode(Double.self)
        aggregate.p50 = try columns[15].decode(Double?.self)
        aggregate.p90 = try columns[16].decode(Double?.self)
        aggregate.p99 = try columns[17].decode(Double?.self)
        return (key, aggregate)
    }
}
