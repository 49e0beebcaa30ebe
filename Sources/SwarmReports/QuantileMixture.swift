/// Percentiles of a whole period from the percentiles of its buckets: each bucket stands for a
/// distribution through its min, p50, p90, p99 and max (linear between them), weighted by its
/// values, and the mixture's quantile is found by bisection. Exact where a bucket holds one value
/// (then all five are that value); a close estimate for busy buckets, far better than averaging
/// the buckets' percentiles (which makes a period's p99 the mean of many small buckets' p99s).
struct QuantileMixture {
    struct Component {
        /// Values at cumulative 0, 0.5, 0.9, 0.99 and 1.
        var knots: [Double]
        var weight: Double
    }

    private(set) var components: [Component] = []

    static let levels = [0.0, 0.5, 0.9, 0.99, 1.0]

    /// A bucket; missing percentiles fall back to its mean (raw buckets have none).
    mutating func add(min: Double?, p50: Double?, p90: Double?, p99: Double?, max: Double?, mean: Double?, weight: Int)
    {
        guard weight > 0, let center = p50 ?? mean else { return }
        var knots = [min ?? center, center, p90 ?? center, p99 ?? center, max ?? center]
        // Rollup percentiles merged over several rollups need not be ordered with min and max.
        for i in 1..<knots.count { knots[i] = Swift.max(knots[i], knots[i - 1]) }
        components.append(Component(knots: knots, weight: Double(weight)))
    }

    /// The share of the mixture at or below `value`.
    func cdf(_ value: Double) -> Double {
        let total = components.map(\.weight).reduce(0, +)
        guard total > 0 else { return 0 }
        var sum = 0.0
        for c in components {
            sum += c.weight * Self.cdf(value, knots: c.knots)
        }
        return sum / total
    }

    static func cdf(_ value: Double, knots: [Double]) -> Double {
        if value >= knots[knots.count - 1] { return 1 }
        if value < knots[0] { return 0 }
        for i in 1..<knots.count where value < knots[i] {
            let span = knots[i] - knots[i - 1]
            let into = span > 0 ? (value - knots[i - 1]) / span : 1
            return levels[i - 1] + into * (levels[i] - levels[i - 1])
        }
        return 1
    }

    func quantile(_ q: Double) -> Double? {
        guard let low = components.map({ $0.knots[0] }).min(), let high = components.map({ $0.knots[4] }).max()
        else { return nil }
        guard high > low else { return low }
        var (a, b) = (low, high)
        for _ in 0..<60 {
            let mid = (a + b) / 2
            if cdf(mid) >= q { b = mid } else { a = mid }
        }
        return b
    }
}
