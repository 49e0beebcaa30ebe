/// Order statistics that outliers do not drag: the median and the median absolute deviation.
public enum RobustStatistics {
    /// Scales a MAD to the standard deviation of normally distributed data.
    public static let madToSigma = 1.4826

    /// The median of `values` (nil when empty); the mean of the two middle values for an even count.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The median absolute deviation from the median (nil when empty).
    public static func mad(_ values: [Double], around center: Double? = nil) -> Double? {
        guard let center = center ?? median(values) else { return nil }
        return median(values.map { abs($0 - center) })
    }

    /// A robust standard deviation, floored so a flat history does not turn noise into anomalies:
    /// at least `relativeFloor` of |center| and at least `absoluteFloor`.
    public static func scale(
        mad: Double,
        center: Double,
        relativeFloor: Double = 0.01,
        absoluteFloor: Double = 1e-9
    ) -> Double {
        max(mad * madToSigma, abs(center) * relativeFloor, absoluteFloor)
    }
}

/// An exponentially weighted moving average and variance: the short-term view beside the baseline.
public struct EWMA: Sendable, Hashable {
    public let alpha: Double
    public private(set) var mean: Double?
    public private(set) var variance: Double = 0

    /// `alpha` is the weight of the newest value (0 < alpha <= 1).
    public init(alpha: Double) { self.alpha = alpha }

    public mutating func add(_ value: Double) {
        guard let previous = mean else {
            mean = value
            return
        }
        let difference = value - previous
        let increment = alpha * difference
        mean = previous + increment
        variance = (1 - alpha) * (variance + difference * increment)
    }
}
