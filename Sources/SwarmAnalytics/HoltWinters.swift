import RealModule

/// Additive Holt-Winters (level, trend and a season of `season` steps) for forecasts of latency
/// and loss with prediction intervals. The recursions are the textbook ones (Hyndman and
/// Athanasopoulos, "Forecasting: principles and practice", 8.3):
///
///     l(t) = α (y(t) − s(t−m)) + (1 − α)(l(t−1) + b(t−1))
///     b(t) = β (l(t) − l(t−1)) + (1 − β) b(t−1)
///     s(t) = γ (y(t) − l(t−1) − b(t−1)) + (1 − γ) s(t−m)
///
/// `fit` minimises the squared one-step errors over α, β, γ within statsmodels' bounds
/// (0 ≤ β ≤ α, 0 ≤ γ ≤ 1 − α); intervals are those of the equivalent ETS(A,A,A) model.
public struct HoltWinters: Sendable, Hashable {
    public struct Parameters: Sendable, Hashable {
        public var alpha: Double
        public var beta: Double
        public var gamma: Double
        public init(alpha: Double, beta: Double, gamma: Double) {
            self.alpha = alpha
            self.beta = beta
            self.gamma = gamma
        }
    }

    public struct State: Sendable, Hashable {
        public var level: Double
        public var trend: Double
        /// The season's components in time order: `seasonal[i]` applies `i + 1` steps ahead (mod m).
        public var seasonal: [Double]
    }

    public struct Forecast: Sendable, Hashable {
        public var step: Int
        public var mean: Double
        public var lower: Double
        public var upper: Double
    }

    /// Why there is no model: the reason is shown where a forecast would be.
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case tooLittleData(have: Int, need: Int)
        case notFinite

        public var description: String {
            switch self {
            case .tooLittleData(let have, let need):
                "too little data for a forecast: \(have) points, at least \(need) needed (two full seasons)"
            case .notFinite: "the series holds values that are not finite numbers"
            }
        }
    }

    public let season: Int
    public let parameters: Parameters
    /// The state after the last observation.
    public let state: State
    public let sse: Double
    public let count: Int

    /// Level = mean of the first season, trend = (mean of the second − mean of the first) / m,
    /// seasonal = the first season minus the level.
    public static func initialState(_ series: [Double], season m: Int) -> State {
        let first = series[0..<m].reduce(0, +) / Double(m)
        let second = series[m..<(2 * m)].reduce(0, +) / Double(m)
        return State(level: first, trend: (second - first) / Double(m), seasonal: series[0..<m].map { $0 - first })
    }

    /// The model with `parameters`, smoothed over `series` from `initialState`.
    public static func smooth(
        _ series: [Double],
        season m: Int,
        parameters: Parameters
    ) -> Result<HoltWinters, Refusal> {
        guard series.count >= 2 * m, m >= 1 else { return .failure(.tooLittleData(have: series.count, need: 2 * m)) }
        guard series.allSatisfy(\.isFinite) else { return .failure(.notFinite) }
        let (state, sse) = run(series, m, parameters)
        return .success(HoltWinters(season: m, parameters: parameters, state: state, sse: sse, count: series.count))
    }

    /// The model whose α, β, γ give the smallest sum of squared one-step errors.
    public static func fit(_ series: [Double], season m: Int) -> Result<HoltWinters, Refusal> {
        guard series.count >= 2 * m, m >= 1 else { return .failure(.tooLittleData(have: series.count, need: 2 * m)) }
        guard series.allSatisfy(\.isFinite) else { return .failure(.notFinite) }
        // Searched as (α, u, v) in the unit cube with β = α·u and γ = (1 − α)·v: the bounds hold.
        func parameters(_ p: [Double]) -> Parameters {
            let alpha = min(max(p[0], 0), 1)
            let u = min(max(p[1], 0), 1)
            let v = min(max(p[2], 0), 1)
            return Parameters(alpha: alpha, beta: alpha * u, gamma: (1 - alpha) * v)
        }
        var best: (point: [Double], value: Double) = ([0.1, 0.1, 0.1], .infinity)
        for start in [[0.1, 0.1, 0.1], [0.5, 0.1, 0.3], [0.2, 0.5, 0.5], [0.8, 0.2, 0.8], [0.05, 0.9, 0.05]] {
            let found = NelderMead.minimise(start: start, step: 0.1) { run(series, m, parameters($0)).sse }
            if found.value < best.value { best = found }
        }
        return smooth(series, season: m, parameters: parameters(best.point))
    }

    /// Forecasts 1…`horizon` steps ahead with intervals covering `coverage` (e.g. 0.95).
    public func forecast(_ horizon: Int, coverage: Double = 0.95) -> [Forecast] {
        let sigma2 = sse / Double(count)
        let z = Normal.quantile(0.5 + coverage / 2)
        let alpha = parameters.alpha
        let beta = alpha * parameters.beta  // the error-correction form's trend weight
        let gamma = parameters.gamma
        guard horizon > 0 else { return [] }
        var sum = 0.0
        return (1...horizon).map { h in
            if h > 1 {
                let j = Double(h - 1)
                let c = alpha + beta * j + ((h - 1) % season == 0 ? gamma : 0)
                sum += c * c
            }
            let mean = state.level + Double(h) * state.trend + state.seasonal[(h - 1) % season]
            let half = z * (sigma2 * (1 + sum)).squareRoot()
            return Forecast(step: h, mean: mean, lower: mean - half, upper: mean + half)
        }
    }

    private static func run(_ series: [Double], _ m: Int, _ p: Parameters) -> (state: State, sse: Double) {
        let initial = initialState(series, season: m)
        var level = initial.level
        var trend = initial.trend
        var seasonal = initial.seasonal  // a ring: seasonal[t % m] is s(t − m) when y(t) arrives
        var sse = 0.0
        for (t, y) in series.enumerated() {
            let previous = seasonal[t % m]
            let error = y - (level + trend + previous)
            sse += error * error
            let newLevel = p.alpha * (y - previous) + (1 - p.alpha) * (level + trend)
            seasonal[t % m] = p.gamma * (y - level - trend) + (1 - p.gamma) * previous
            trend = p.beta * (newLevel - level) + (1 - p.beta) * trend
            level = newLevel
        }
        let n = series.count
        let ordered = (0..<m).map { seasonal[(n + $0) % m] }
        return (State(level: level, trend: trend, seasonal: ordered), sse)
    }
}

/// Nelder-Mead simplex minimisation (no derivatives), for the few smoothing parameters.
enum NelderMead {
    static func minimise(
        start: [Double],
        step: Double,
        iterations: Int = 400,
        tolerance: Double = 1e-10,
        _ f: ([Double]) -> Double
    ) -> (point: [Double], value: Double) {
        let n = start.count
        var simplex =
            [start]
            + (0..<n).map { i -> [Double] in
                var p = start
                p[i] += step
                return p
            }
        var values = simplex.map(f)
        for _ in 0..<iterations {
            let order = values.indices.sorted { values[$0] < values[$1] }
            simplex = order.map { simplex[$0] }
            values = order.map { values[$0] }
            if abs(values[n] - values[0]) <= tolerance * (abs(values[0]) + tolerance) { break }
            let centroid = (0..<n).map { d in simplex[0..<n].reduce(0) { $0 + $1[d] } / Double(n) }
            func toward(_ t: Double) -> [Double] { (0..<n).map { centroid[$0] + t * (simplex[n][$0] - centroid[$0]) } }
            let reflected = toward(-1)
            let fr = f(reflected)
            if fr < values[0] {
                let expanded = toward(-2)
                let fe = f(expanded)
                (simplex[n], values[n]) = fe < fr ? (expanded, fe) : (reflected, fr)
            } else if fr < values[n - 1] {
                (simplex[n], values[n]) = (reflected, fr)
            } else {
                let contracted = fr < values[n] ? toward(-0.5) : toward(0.5)
                let fc = f(contracted)
                if fc < min(fr, values[n]) {
                    (simplex[n], values[n]) = (contracted, fc)
                } else {
                    for i in 1...n {
                        simplex[i] = (0..<n).map { simplex[0][$0] + 0.5 * (simplex[i][$0] - simplex[0][$0]) }
                        values[i] = f(simplex[i])
                    }
                }
            }
        }
        let best = values.indices.min { values[$0] < values[$1] } ?? 0
        return (simplex[best], values[best])
    }
}

/// The standard normal distribution's quantile function (Acklam's rational approximation,
/// relative error below 1.2e-9), for interval widths.
public enum Normal {
    public static func quantile(_ p: Double) -> Double {
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
            1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00,
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
            6.680131188771972e+01, -1.328068155288572e+01,
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
            -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00,
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let low = 0.02425
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        if p < low || p > 1 - low {
            let q = (-2 * Double.log(p < low ? p : 1 - p)).squareRoot()
            let x =
                (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
            return p < low ? x : -x
        }
        let q = p - 0.5
        let r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }
}
