import SwarmAnalytics
import SwarmCore
import SwarmStore

extension TestAnalyzer {
    /// Other tests' runs that explain this one: each agent's traceroutes to the same target host
    /// (path fingerprints) and its system test (host CPU and memory).
    struct Context: Sendable {
        var traceroutes: [AgentName: [RunFeatures]] = [:]
        var host: [AgentName: [RunFeatures]] = [:]

        /// `tests`: the store's tests, read once by the caller (the swarm view analyses many).
        static func load(
            test: TestRecord,
            tests: [TestRecord],
            store: any Store,
            from: Timestamp,
            to: Timestamp
        ) async throws -> Context {
            var context = Context()
            let host = test.spec.target.host
            let others = tests.filter { $0.id != test.id && $0.state == .active }
            var options = Options()
            options.rowLimit = 5_000
            for agent in test.agents {
                if !host.isEmpty,
                    let trace = others.first(where: {
                        $0.spec.probes.first == .traceroute && $0.spec.target.host == host && $0.agents.contains(agent)
                    })
                {
                    context.traceroutes[agent] = try await runs(
                        of: trace.id,
                        agent: agent,
                        from: from,
                        to: to,
                        store,
                        options
                    )
                }
                if let system = others.first(where: { $0.spec.probes.first == .system && $0.agents.contains(agent) }) {
                    context.host[agent] = try await runs(
                        of: system.id,
                        agent: agent,
                        from: from,
                        to: to,
                        store,
                        options
                    )
                }
            }
            return context
        }
    }
}

/// Which of the window's runs are anomalies, and why: far from the usual value at that hour of the
/// week, or an unusual combination of figures for the Isolation Forest learned from the history.
enum AnomalyScoring {
    /// Runs the forest needs to learn from.
    static let minimumHistory = 50

    static func score(
        window: [RunFeatures],
        history: [RunFeatures],
        baseline: SeasonalBaseline,
        unit: String
    ) -> [TestAnalysis.Anomaly] {
        var forest: IsolationForest?
        var threshold = 1.0
        if history.count >= minimumHistory {
            let rows = history.map(\.forestRow)
            let trained = IsolationForest(rows: rows, trees: 100, sampleSize: 256, seed: 0x5EED)
            let scores = trained.scores(rows).sorted()
            // Above 99% of what the history scored, and clearly unusual in absolute terms.
            threshold = max(scores[min(scores.count - 1, Int(Double(scores.count) * 0.99))], 0.6)
            forest = trained
        }
        return window.compactMap { run in
            var reasons: [String] = []
            let z = run.headline.flatMap { baseline.score($0, at: run.startedAt) }
            if let z, let value = run.headline, abs(z) >= TestAnalyzer.anomalyScore,
                let usual = baseline.band(at: run.startedAt)?.median
            {
                reasons.append(
                    "\(Diagnosis.text(value)) \(unit) is \(Diagnosis.text(abs(z))) robust sigmas \(z > 0 ? "above" : "below") the usual \(Diagnosis.text(usual)) \(unit) at this hour"
                )
            }
            let forestScore = forest?.score(run.forestRow)
            if let forestScore, forestScore > threshold {
                reasons.append(
                    "unusual combination of figures: Isolation Forest score \(Diagnosis.text(forestScore * 100) )% (the history's 99th percentile is \(Diagnosis.text(threshold * 100))%)"
                )
            }
            guard !reasons.isEmpty else { return nil }
            return TestAnalysis.Anomaly(
                startedAt: run.startedAt.iso8601,
                value: run.headline,
                baselineScore: z,
                forestScore: forestScore,
                reasons: reasons
            )
        }
    }
}

/// The headline's hourly means forecast with Holt-Winters (a daily season), or why not.
enum HourlyForecast {
    /// Hours may be missing (filled with the previous hour) up to this share.
    static let allowedGaps = 0.2

    static func make(
        _ runs: [RunFeatures],
        now: Timestamp,
        hours: Int
    ) -> (points: [TestAnalysis.ForecastPoint], refusal: String?) {
        let hour: Int64 = 3_600_000_000_000
        let measured = runs.compactMap { run in run.headline.map { (run.startedAt.unixNanos / hour, $0) } }
        guard let first = measured.first?.0, let last = measured.last?.0 else {
            return ([], "no measurements to forecast from")
        }
        var sums: [Int64: (Double, Int)] = [:]
        for (bucket, value) in measured {
            let current = sums[bucket] ?? (0, 0)
            sums[bucket] = (current.0 + value, current.1 + 1)
        }
        var series: [Double] = []
        var gaps = 0
        for bucket in first...last {
            if let (sum, count) = sums[bucket] {
                series.append(sum / Double(count))
            } else {
                gaps += 1
                series.append(series.last ?? 0)
            }
        }
        if Double(gaps) > allowedGaps * Double(series.count) {
            return ([], "too many hours without data for a forecast: \(gaps) of \(series.count)")
        }
        switch HoltWinters.fit(series, season: 24) {
        case .failure(let refusal):
            return ([], "\(refusal) (hourly means: \(series.count) hours of history)")
        case .success(let model):
            let points = model.forecast(hours).map { f in
                TestAnalysis.ForecastPoint(
                    at: Timestamp(unixNanos: (last + Int64(f.step)) * hour).iso8601,
                    mean: f.mean,
                    lower: f.lower,
                    upper: f.upper
                )
            }
            return (points, nil)
        }
    }
}
