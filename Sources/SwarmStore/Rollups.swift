// why: protocol requirements and values take SwarmCore types.
public import SwarmCore

/// How finely a series is read: raw measurements, or the 1-minute or 1-hour rollups kept after
/// the raw rows are gone.
public enum SeriesResolution: String, Sendable, Hashable, CaseIterable, Comparable {
    case raw, minute, hour

    /// The rollup bucket; nil for raw.
    public var bucket: Duration? {
        switch self {
        case .raw: nil
        case .minute: .seconds(60)
        case .hour: .seconds(3600)
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.order < rhs.order }

    private var order: Int {
        switch self {
        case .raw: 0
        case .minute: 1
        case .hour: 2
        }
    }

    /// The resolution a series of `range` in buckets of `bucket` is read at.
    ///
    /// Raw rows for up to two days (exact, aligned to the request), minute rollups up to 60 days,
    /// hour rollups beyond; never coarser than `bucket`, unless the finer data is gone: raw rows
    /// before `rawKeptFrom` (the last prune's cutoff, from ``RollupStore/rollupWatermarks()``) or
    /// minute rollups older than `policy.minute`.
    public static func pick(
        range: TimeRange,
        bucket: Duration,
        now: Timestamp,
        policy: RetentionPolicy,
        rawKeptFrom: Timestamp?
    ) -> Self {
        let span = range.to - range.from
        var pick: Self = span <= .seconds(2 * 86_400) ? .raw : span <= .seconds(60 * 86_400) ? .minute : .hour
        let finest: Self = bucket >= .seconds(3600) ? .hour : bucket >= .seconds(60) ? .minute : .raw
        pick = Swift.min(pick, finest)
        if pick == .raw, let kept = rawKeptFrom, range.from < kept { pick = .minute }
        if pick == .minute, now - range.from > policy.minute { pick = .hour }
        return pick
    }
}

/// How long each resolution is kept. Raw rows go first, then minute rollups, then hour rollups.
public struct RetentionPolicy: Sendable, Hashable, CustomStringConvertible {
    public var raw: Duration
    public var minute: Duration
    public var hour: Duration

    public static let day = Duration.seconds(86_400)
    /// 30 days raw, 180 days of minutes, 2 years of hours.
    public static let standard = Self(raw: day * 30, minute: day * 180, hour: day * 730)

    public init(raw: Duration, minute: Duration, hour: Duration) {
        self.raw = raw
        self.minute = minute
        self.hour = hour
    }

    /// The setting keys and their days, as the settings page and CLI show them.
    public static let settingKeys = (
        raw: "retention.rawDays", minute: "retention.minuteDays", hour: "retention.hourDays"
    )

    /// Raw rows are kept at least a day (every rollup is made from them before they go), and
    /// each coarser resolution at least as long as the finer one.
    public func validate() throws(StoreError) {
        let days = (raw: raw / Self.day, minute: minute / Self.day, hour: hour / Self.day)
        guard days.raw >= 1, days.raw <= 36_500 else {
            throw StoreError(code: .invalidInput, message: "raw retention must be 1 to 36500 days (got \(days.raw))")
        }
        guard days.minute >= days.raw, days.minute <= 36_500 else {
            throw StoreError(
                code: .invalidInput,
                message: "minute rollups must be kept at least as long as raw rows (\(days.raw) days) and at most "
                    + "36500 days (got \(days.minute))"
            )
        }
        guard days.hour >= days.minute, days.hour <= 36_500 else {
            throw StoreError(
                code: .invalidInput,
                message: "hour rollups must be kept at least as long as minute rollups (\(days.minute) days) and "
                    + "at most 36500 days (got \(days.hour))"
            )
        }
    }

    public var description: String {
        "raw \(Int(raw / Self.day)) d, minute rollups \(Int(minute / Self.day)) d, hour rollups \(Int(hour / Self.day)) d"
    }

    /// The policy in `store`'s settings, the standard one where a key is unset or unreadable.
    public static func load(from store: any SettingsStore) async throws -> Self {
        func days(_ key: String, _ fallback: Duration) async throws -> Duration {
            guard let text = try await store.setting(key), let value = Int(text), value > 0 else { return fallback }
            return day * value
        }
        return Self(
            raw: try await days(settingKeys.raw, standard.raw),
            minute: try await days(settingKeys.minute, standard.minute),
            hour: try await days(settingKeys.hour, standard.hour)
        )
    }

    /// Validates and stores the policy.
    public func save(to store: any SettingsStore) async throws {
        try validate()
        try await store.setSetting(Self.settingKeys.raw, value: "\(Int(raw / Self.day))")
        try await store.setSetting(Self.settingKeys.minute, value: "\(Int(minute / Self.day))")
        try await store.setSetting(Self.settingKeys.hour, value: "\(Int(hour / Self.day))")
    }
}

/// What one ``RollupStore/rollUp(closedBefore:maxSpan:)`` call did.
public struct RollupReport: Sendable, Hashable {
    /// Rollup rows written, per resolution (new buckets and re-rolled late ones).
    public var buckets: [SeriesResolution: Int]
    /// Buckets rolled up again because measurements arrived after they were first rolled up.
    public var lateBuckets: Int
    /// Where each rollup is complete now.
    public var watermarks: [SeriesResolution: Timestamp]
    /// False while history is left to roll up (the span limit stopped this call): call again.
    public var caughtUp: Bool

    public init(
        buckets: [SeriesResolution: Int],
        lateBuckets: Int,
        watermarks: [SeriesResolution: Timestamp],
        caughtUp: Bool
    ) {
        self.buckets = buckets
        self.lateBuckets = lateBuckets
        self.watermarks = watermarks
        self.caughtUp = caughtUp
    }
}

/// What one ``RollupStore/prune(_:now:)`` call removed.
public struct PruneReport: Sendable, Hashable {
    public var raw: Int
    public var minute: Int
    public var hour: Int
    public init(raw: Int, minute: Int, hour: Int) {
        self.raw = raw
        self.minute = minute
        self.hour = hour
    }
}

/// Rollups and retention: 1-minute and 1-hour aggregates made from raw measurements, kept longer.
///
/// A bucket is rolled up once it closed; measurements that arrive later for a rolled-up bucket
/// (an agent's spool drained after an outage) mark it, and the next call rolls it up again, so a
/// rollup always agrees with the raw rows it was made from.
public protocol RollupStore: Sendable {
    /// Rolls up every bucket that ended at or before `closedBefore` (at most `maxSpan` of new
    /// history per resolution per call) and every bucket marked late.
    func rollUp(closedBefore: Timestamp, maxSpan: Duration) async throws -> RollupReport
    /// Deletes raw rows older than `now - policy.raw` (only those already rolled up) and rollups
    /// older than their periods.
    func prune(_ policy: RetentionPolicy, now: Timestamp) async throws -> PruneReport
    /// Where each rollup (`.minute`, `.hour`) is complete through, absent before the first
    /// rollup; and for `.raw`, where raw rows are kept from (absent until a prune removed some).
    func rollupWatermarks() async throws -> [SeriesResolution: Timestamp]
}

/// One bucket's aggregates in a mergeable form (sums and counts, not means), so rollups of several
/// rows, and a rollup beside raw rows not yet rolled up, combine exactly. Backends fill it from
/// SQL and turn it into a ``SeriesBucket``.
public struct SeriesAggregate: Sendable, Hashable {
    public var count = 0
    public var okCount = 0
    public var valueCount = 0
    public var valueSum = 0.0
    public var min: Double?
    public var max: Double?
    public var low: Double?
    public var high: Double?
    public var lossCount = 0
    public var lossSum = 0.0
    public var jitterCount = 0
    public var jitterSum = 0.0
    /// Percentiles of the ok values: exact for one rollup bucket; a count-weighted mean of the
    /// rollups' percentiles when a bucket spans several (an approximation the API states).
    public var p50: Double?
    public var p90: Double?
    public var p99: Double?

    public init() {}

    public mutating func merge(_ other: Self) {
        let weights = (Double(valueCount), Double(other.valueCount))
        func weighted(_ a: Double?, _ b: Double?) -> Double? {
            switch (a, b) {
            case (nil, nil): return nil
            case (let a?, nil): return a
            case (nil, let b?): return b
            case (let a?, let b?):
                let total = weights.0 + weights.1
                return total > 0 ? (a * weights.0 + b * weights.1) / total : (a + b) / 2
            }
        }
        p50 = weighted(p50, other.p50)
        p90 = weighted(p90, other.p90)
        p99 = weighted(p99, other.p99)
        count += other.count
        okCount += other.okCount
        valueCount += other.valueCount
        valueSum += other.valueSum
        min = Self.pick(min, other.min, Swift.min)
        max = Self.pick(max, other.max, Swift.max)
        low = Self.pick(low, other.low, Swift.min)
        high = Self.pick(high, other.high, Swift.max)
        lossCount += other.lossCount
        lossSum += other.lossSum
        jitterCount += other.jitterCount
        jitterSum += other.jitterSum
    }

    public func bucket(agent: AgentName, kind: ProbeKind, start: Timestamp) -> SeriesBucket {
        var bucket = SeriesBucket(
            agent: agent,
            kind: kind,
            start: start,
            count: count,
            okCount: okCount,
            min: min,
            avg: valueCount > 0 ? valueSum / Double(valueCount) : nil,
            max: max,
            low: low,
            high: high,
            lossPercent: lossCount > 0 ? lossSum / Double(lossCount) : nil,
            jitterMicros: jitterCount > 0 ? jitterSum / Double(jitterCount) : nil
        )
        bucket.p50 = p50
        bucket.p90 = p90
        bucket.p99 = p99
        return bucket
    }

    private static func pick(_ a: Double?, _ b: Double?, _ f: (Double, Double) -> Double) -> Double? {
        switch (a, b) {
        case (nil, nil): nil
        case (let a?, nil): a
        case (nil, let b?): b
        case (let a?, let b?): f(a, b)
        }
    }

    /// Nearest-rank percentile of sorted `values` (`fraction` in 0...1).
    public static func percentile(_ sorted: [Double], _ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }
}

extension SeriesResolution {
    /// The rolled-up resolutions as backends store them (bucket seconds), finest first.
    public static let rolledUp: [(resolution: SeriesResolution, seconds: Int64)] = [(.minute, 60), (.hour, 3600)]

    /// The start of the bucket of `size` nanoseconds that `nanos` falls in (floored below zero too).
    public static func bucketStart(_ nanos: Int64, size: Int64) -> Int64 {
        let remainder = nanos % size
        return remainder < 0 ? nanos - remainder - size : nanos - remainder
    }
}
