import SwarmAnalytics
import SwarmCore
import SwarmStore
import SwarmWire

extension TestAnalyzer {
    /// Other tests' runs that explain this one: each agent's traceroutes to the same target host
    /// (path fingerprints) and its system test (host CPU and memory).
    struct Context: Sendable {
        var traceroutes: [AgentName: [RunFeatures]] = [:]
        var host: [AgentName: [RunFeatures]] = [:]
        /// Figures of the inventory devices on each agent's traceroute path (gNMI), before and
        /// during the window.
        var devices: [AgentName: [Diagnosis.DeviceFigure]] = [:]

        /// `tests`: the store's tests, read once by the caller (the swarm view analyses many).
        static func load(
            test: TestRecord,
            tests: [TestRecord],
            store: any Store,
            from: Timestamp,
            windowStart: Timestamp,
            to: Timestamp
        ) async throws -> Context {
            var context = Context()
            var inventory: [DeviceRecord]?
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
                    let traces = try await runs(of: trace.id, agent: agent, from: from, to: to, store, options)
                    context.traceroutes[agent] = traces
                    let onPath = Set(
                        traces.compactMap(\.pathFingerprint).flatMap { $0.split(separator: ">").map(String.init) }
                    )
                    if inventory == nil { inventory = try await store.devices() }
                    for device in inventory ?? [] where !onPath.isDisjoint(with: device.allAddresses) {
                        context.devices[agent, default: []] += try await DeviceWindows.figures(
                            of: device,
                            store: store,
                            from: from,
                            windowStart: windowStart,
                            to: to
                        )
                    }
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

/// A device's gNMI figures folded over the history and over the window, as diagnosis inputs:
/// the highest interface utilisation, errors and drops per second, CPU.
enum DeviceWindows {
    static func figures(
        of device: DeviceRecord,
        store: any Store,
        from: Timestamp,
        windowStart: Timestamp,
        to: Timestamp
    ) async throws -> [Diagnosis.DeviceFigure] {
        guard let test = device.testID else { return [] }
        let rows = try await store.measurements(
            test: test,
            agent: nil,
            range: TimeRange(from: from, to: to),
            limit: 20_000,
            newestFirst: false
        )
        let before = DeviceFigures.fold(oldestFirst: rows.lazy.filter { $0.startedAt < windowStart }.map(\.observation))
        let during = DeviceFigures.fold(
            oldestFirst: rows.lazy.filter { $0.startedAt >= windowStart }.map(\.observation)
        )
        guard before.samples > 0, during.samples > 0 else { return [] }
        let spans = (before: max(1, (windowStart - from).seconds), during: max(1, (to - windowStart).seconds))
        func utilisation(_ f: DeviceFigures) -> Double? {
            f.interfaces.compactMap {
                [$0.inUtilisationMaxPercent, $0.outUtilisationMaxPercent].compactMap { $0 }.max()
            }.max()
        }
        func errors(_ f: DeviceFigures) -> Double { Double(f.interfaces.reduce(0) { $0 + $1.inErrors + $1.outErrors }) }
        func drops(_ f: DeviceFigures) -> Double {
            Double(f.interfaces.reduce(f.queueDrops) { $0 + $1.inDiscards + $1.outDiscards })
        }
        let figures: [(String, Double?, Double?)] = [
            ("utilisation_percent", utilisation(before), utilisation(during)),
            ("errors_per_second", errors(before) / spans.before, errors(during) / spans.during),
            ("drops_per_second", drops(before) / spans.before, drops(during) / spans.during),
            ("cpu_percent", before.cpuAveragePercent, during.cpuAveragePercent),
        ]
        return figures.compactMap { name, b, d in
            guard let b, let d else { return nil }
            return Diagnosis.DeviceFigure(device: device.name, figure: name, window: .init(before: [b], during: [d]))
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
