// why: deseasonalised shifts take the values' timestamps.
public import SwarmCore

/// Level shifts in a series (a route change, a new bottleneck), by a two-sided CUSUM on values
/// standardised against a robust reference. After a detection the reference is learned again from
/// the values after the change, so one shift is one event, not an anomaly on every later point.
public struct ChangePointDetector: Sendable, Hashable {
    public struct ChangePoint: Sendable, Hashable {
        /// Index of the first value of the new level.
        public var index: Int
        /// Index at which the CUSUM crossed the threshold (the change was known from here).
        public var detectedAt: Int
        /// Median level before and after.
        public var before: Double
        public var after: Double
        public var shift: Double { after - before }
    }

    /// Values used to learn a reference level (and after each change).
    public var warmup: Int
    /// Slack, in robust standard deviations: drift below it never accumulates.
    public var slack: Double
    /// Threshold, in robust standard deviations accumulated.
    public var threshold: Double
    /// Largest contribution of one value, in robust standard deviations.
    public var clip: Double
    /// Smallest shift reported, as a fraction of the level (and at least 2 standard deviations).
    public var minimumShift: Double
    /// Smallest shift reported in the values' own unit (for residuals, whose level is about 0).
    public var minimumAbsoluteShift: Double = 0

    /// The defaults detect a shift of several standard deviations within three values.
    public init(
        warmup: Int = 20,
        slack: Double = 0.5,
        threshold: Double = 5,
        clip: Double = 3,
        minimumShift: Double = 0.1
    ) {
        self.minimumShift = minimumShift
        self.warmup = warmup
        self.slack = slack
        self.threshold = threshold
        self.clip = clip
    }

    public func detect(_ values: [Double]) -> [ChangePoint] {
        var points: [ChangePoint] = []
        var start = 0
        while start + warmup <= values.count {
            let reference = Array(values[start..<(start + warmup)])
            let level = RobustStatistics.median(reference) ?? 0
            let scale = RobustStatistics.scale(mad: RobustStatistics.mad(reference, around: level) ?? 0, center: level)
            var up = 0.0
            var down = 0.0
            var upStart = start + warmup
            var downStart = start + warmup
            var found: ChangePoint?
            for i in (start + warmup)..<values.count {
                // Clipped, so one wild value cannot cross the threshold alone: a spike is no shift.
                let z = min(max((values[i] - level) / scale, -clip), clip)
                if up == 0 { upStart = i }
                if down == 0 { downStart = i }
                up = max(0, up + z - slack)
                down = max(0, down - z - slack)
                if up > threshold || down > threshold {
                    let index = up > threshold ? upStart : downStart
                    let after = RobustStatistics.median(Array(values[index...i])) ?? values[i]
                    // A drift too small to matter (under `minimumShift` of the level) is no event.
                    guard abs(after - level) >= max(minimumShift * abs(level), minimumAbsoluteShift, 2 * scale) else {
                        up = 0
                        down = 0
                        continue
                    }
                    found = ChangePoint(index: index, detectedAt: i, before: level, after: after)
                    break
                }
            }
            guard let point = found else { break }
            points.append(point)
            start = point.index
        }
        return points
    }
}

extension ChangePointDetector {
    /// Level shifts of what the baseline's usual value at each time does not explain: the detector
    /// sees each value minus the median at its hour (a daily rhythm is no shift), and shifts
    /// smaller than 10% of the usual level are not events. Levels come back in the values' terms.
    public static func levelShifts(
        times: [Timestamp],
        values: [Double],
        baseline: SeasonalBaseline
    ) -> [ChangePoint] {
        let overall = baseline.overall?.median ?? 0
        let residuals = zip(times, values).map { time, value in value - (baseline.band(at: time)?.median ?? overall) }
        var detector = ChangePointDetector()
        detector.minimumShift = 0
        detector.minimumAbsoluteShift = 0.1 * abs(overall)
        return detector.detect(residuals).map {
            ChangePoint(
                index: $0.index,
                detectedAt: $0.detectedAt,
                before: $0.before + overall,
                after: $0.after + overall
            )
        }
    }
}
