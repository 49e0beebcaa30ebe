// why: trends are fitted over SwarmCore timestamps.
public import SwarmCore

/// A least-squares straight line through a series, for "when does it reach a level at the current
/// trend" (a link or a host reaching 100%). Only a trend that is clearly there (slope at least 3
/// standard errors from zero) over enough days is used; otherwise the reason is given.
public struct LinearTrend: Sendable, Hashable {
    /// Change per day in the series' unit.
    public let slopePerDay: Double
    /// The line's value at the last time.
    public let level: Double
    /// Days between the first and the last value.
    public let spanDays: Double
    /// The slope over its standard error.
    public let tStatistic: Double

    /// nil with fewer than 3 values or all at one time.
    public static func fit(times: [Timestamp], values: [Double]) -> LinearTrend? {
        let points = zip(times, values).filter { $0.1.isFinite }
        guard points.count >= 3, let first = points.first?.0, let last = points.last?.0, last > first else {
            return nil
        }
        let day = 86_400e9
        let xs = points.map { Double($0.0.unixNanos - first.unixNanos) / day }
        let ys = points.map(\.1)
        let n = Double(xs.count)
        let meanX = xs.reduce(0, +) / n
        let meanY = ys.reduce(0, +) / n
        let sxx = xs.reduce(0) { $0 + ($1 - meanX) * ($1 - meanX) }
        guard sxx > 0 else { return nil }
        let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - meanX) * ($1.1 - meanY) }
        let slope = sxy / sxx
        let intercept = meanY - slope * meanX
        let sse = zip(xs, ys).reduce(0) {
            $0 + ($1.1 - (intercept + slope * $1.0)) * ($1.1 - (intercept + slope * $1.0))
        }
        let standardError = (sse / max(1, n - 2) / sxx).squareRoot()
        let span = xs.last ?? 0
        return LinearTrend(
            slopePerDay: slope,
            level: intercept + slope * span,
            spanDays: span,
            tStatistic: standardError > 0 ? slope / standardError : (slope == 0 ? 0 : .infinity)
        )
    }

    /// Days until the line reaches `limit` from below, or why there is no such day.
    public static func daysUntil(
        _ limit: Double,
        times: [Timestamp],
        values: [Double],
        minimumDays: Double = 3
    ) -> Result<(days: Double, trend: LinearTrend), Refusal> {
        guard let trend = fit(times: times, values: values) else {
            return .failure(Refusal("too few values for a trend"))
        }
        guard trend.spanDays >= minimumDays else {
            return .failure(
                Refusal(
                    "a trend needs at least \(Diagnosis.text(minimumDays)) days of history, there are \(Diagnosis.text(trend.spanDays))"
                )
            )
        }
        if trend.level >= limit { return .success((0, trend)) }
        guard trend.slopePerDay > 0, trend.tStatistic >= 3 else {
            return .failure(
                Refusal(
                    "no rising trend toward \(Diagnosis.text(limit)) (\(Diagnosis.text(trend.slopePerDay)) per day, "
                        + "t = \(Diagnosis.text(trend.tStatistic)); at least 3 needed)"
                )
            )
        }
        let days = (limit - trend.level) / trend.slopePerDay
        guard days <= 3650 else { return .failure(Refusal("not within 10 years at the current trend")) }
        return .success((days, trend))
    }

    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
