// why: the baseline is keyed by the measurements' timestamps.
public import SwarmCore

/// What is normal for one (test, agent, metric) at each hour of the week: the median and MAD of
/// the history that fell into that hour (UTC, Monday 00:00 = bucket 0), learned from arrays of
/// times and values with no I/O. An hour of the week with too little history (less than a few
/// weeks of it) falls back to the same hour of the day, then to the whole history.
public struct SeasonalBaseline: Sendable, Hashable {
    public struct Band: Sendable, Hashable {
        public var median: Double
        public var mad: Double
        public var count: Int
        /// Robust standard deviation (1.4826 MAD, floored at 1% of the median).
        public var scale: Double { RobustStatistics.scale(mad: mad, center: median) }
        /// The usual range: median ± `width` robust standard deviations.
        public func range(width: Double = 3) -> ClosedRange<Double> {
            (median - width * scale)...(median + width * scale)
        }
    }

    public static let hoursPerWeek = 168
    /// One band per hour of the week; nil where fewer than `minimumPerBucket` values fell.
    public let buckets: [Band?]
    /// One band per hour of the day (UTC), the first fallback.
    public let daily: [Band?]
    /// The whole history's band (nil when it is empty).
    public let overall: Band?

    public init(times: [Timestamp], values: [Double], minimumPerBucket: Int = 5) {
        var grouped = Array(repeating: [Double](), count: Self.hoursPerWeek)
        var byHour = Array(repeating: [Double](), count: 24)
        var all: [Double] = []
        for (time, value) in zip(times, values) where value.isFinite {
            let hour = Self.hourOfWeek(time)
            grouped[hour].append(value)
            byHour[hour % 24].append(value)
            all.append(value)
        }
        buckets = grouped.map { $0.count >= minimumPerBucket ? Self.band($0) : nil }
        daily = byHour.map { $0.count >= minimumPerBucket ? Self.band($0) : nil }
        overall = all.isEmpty ? nil : Self.band(all)
    }

    /// The band that applies at `time`: its hour of the week's, else its hour of the day's, else
    /// the overall one.
    public func band(at time: Timestamp) -> Band? {
        let hour = Self.hourOfWeek(time)
        return buckets[hour] ?? daily[hour % 24] ?? overall
    }

    /// How unusual `value` is at `time`, in robust standard deviations (nil without history).
    public func score(_ value: Double, at time: Timestamp) -> Double? {
        guard let band = band(at: time) else { return nil }
        return (value - band.median) / band.scale
    }

    /// 1970-01-01 was a Thursday: 72 hours after a Monday 00:00.
    public static func hourOfWeek(_ time: Timestamp) -> Int {
        let hours = time.unixNanos / 3_600_000_000_000 + 72
        return Int(((hours % 168) + 168) % 168)
    }

    private static func band(_ values: [Double]) -> Band {
        let median = RobustStatistics.median(values) ?? 0
        return Band(median: median, mad: RobustStatistics.mad(values, around: median) ?? 0, count: values.count)
    }
}
