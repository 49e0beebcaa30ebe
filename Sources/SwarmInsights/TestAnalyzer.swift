import SwarmAnalytics
// why: analyze takes a store, a test record and the time of the analysis.
public import SwarmCore
public import SwarmStore

/// Reads a test's history from the store and runs SwarmAnalytics over it: per agent, the seasonal
/// baseline and Isolation Forest learned from the history before the window, the window's runs
/// scored against them, level shifts over the whole history, an hourly Holt-Winters forecast, the
/// health and, from the other agents, traceroutes to the same target and the agent's own system
/// test, the ranked likely causes.
public enum TestAnalyzer {
    public struct Options: Sendable {
        /// The recent stretch being judged.
        public var window: Duration = .seconds(3600)
        /// What "usual" is learned from.
        public var history: Duration = .seconds(28 * 86_400)
        public var forecastHours: Int = 24
        /// Runs read per agent and test (the newest).
        public var rowLimit: Int = 100_000
        public init() {}
    }

    /// Robust standard deviations from the hour's usual value that make a run an anomaly.
    public static let anomalyScore = 4.0

    public static func analyze(
        _ test: TestRecord,
        store: any Store,
        now: Timestamp,
        options: Options = Options()
    ) async throws -> TestAnalysis {
        try await analyze(test, tests: try await store.tests(), store: store, now: now, options: options)
    }

    /// `tests`: the store's tests, for the context (traceroutes, system tests) of each agent;
    /// for callers that analyse many tests from one read of the list.
    public static func analyze(
        _ test: TestRecord,
        tests: [TestRecord],
        store: any Store,
        now: Timestamp,
        options: Options
    ) async throws -> TestAnalysis {
        let kind = test.spec.probes.first ?? .system
        let windowStart = now - options.window
        var runsByAgent: [AgentName: [RunFeatures]] = [:]
        for agent in test.agents {
            runsByAgent[agent] = try await runs(
                of: test.id,
                agent: agent,
                from: now - options.history,
                to: now,
                store,
                options
            )
        }
        // The headline and loss on every agent, before and during, for "one agent or all of them".
        var spread = Spread()
        for (agent, runs) in runsByAgent {
            spread.headline[agent.description] = split(runs, at: windowStart, dayBefore: true) { $0.headline }
            let loss = split(runs, at: windowStart, dayBefore: true) { $0.lossPercent }
            if !loss.before.isEmpty && !loss.during.isEmpty { spread.loss[agent.description] = loss }
        }
        let context = try await Context.load(
            test: test,
            tests: tests,
            store: store,
            from: windowStart - .seconds(86_400),
            windowStart: windowStart,
            to: now
        )
        var agents: [TestAnalysis.AgentAnalysis] = []
        for agent in test.agents.sorted(by: { $0.description < $1.description }) {
            agents.append(
                analyzeAgent(
                    agent,
                    kind: kind,
                    runs: runsByAgent[agent] ?? [],
                    windowStart: windowStart,
                    now: now,
                    spread: spread,
                    context: context,
                    options: options
                )
            )
        }
        let health = HealthModel.aggregate(agents.map { ($0.agent, $0.health) })
        return TestAnalysis(
            test: test.id.rawValue,
            name: test.spec.name,
            kind: kind.rawValue,
            unit: RunFeatures.unit(of: kind),
            windowFrom: windowStart.iso8601,
            windowTo: now.iso8601,
            generatedAt: now.iso8601,
            health: health,
            agents: agents
        )
    }

    static func runs(
        of test: TestID,
        agent: AgentName,
        from: Timestamp,
        to: Timestamp,
        _ store: any Store,
        _ options: Options
    ) async throws -> [RunFeatures] {
        let rows = try await store.measurements(
            test: test,
            agent: agent,
            range: TimeRange(from: from, to: to),
            limit: options.rowLimit,
            newestFirst: true
        )
        return rows.reversed().map(RunFeatures.init)
    }

    /// Figures of every agent before and during the window, keyed by agent name.
    struct Spread {
        var headline: [String: Diagnosis.Window] = [:]
        var loss: [String: Diagnosis.Window] = [:]
    }

    /// A figure before `windowStart` (the last day of it with `dayBefore`) and from it on.
    static func split(
        _ runs: [RunFeatures],
        at windowStart: Timestamp,
        dayBefore: Bool = false,
        _ figure: (RunFeatures) -> Double?
    ) -> Diagnosis.Window {
        let earliest = dayBefore ? windowStart - .seconds(86_400) : Timestamp(unixNanos: .min)
        return Diagnosis.Window(
            before: runs.filter { $0.startedAt < windowStart && $0.startedAt >= earliest }.compactMap(figure),
            during: runs.filter { $0.startedAt >= windowStart }.compactMap(figure)
        )
    }

    private static func analyzeAgent(
        _ agent: AgentName,
        kind: ProbeKind,
        runs: [RunFeatures],
        windowStart: Timestamp,
        now: Timestamp,
        spread: Spread,
        context: Context,
        options: Options
    ) -> TestAnalysis.AgentAnalysis {
        let history = runs.filter { $0.startedAt < windowStart }
        let window = runs.filter { $0.startedAt >= windowStart }
        let baseline = SeasonalBaseline(
            times: history.compactMap { $0.headline == nil ? nil : $0.startedAt },
            values: history.compactMap(\.headline)
        )
        let anomalies = AnomalyScoring.score(
            window: window,
            history: history,
            baseline: baseline,
            unit: RunFeatures.unit(of: kind)
        )
        let shifts = levelShifts(runs, baseline: baseline)
        let forecast = HourlyForecast.make(runs, now: now, hours: options.forecastHours)

        var input = HealthInput()
        let headlines = window.compactMap(\.headline)
        if RunFeatures.isRoundTrip(kind) { input.rttMs = RobustStatistics.median(headlines) }
        input.lossPercent = RobustStatistics.median(window.compactMap(\.lossPercent))
        input.mos = RobustStatistics.median(window.compactMap(\.mos))
        input.certificateDaysLeft = window.last(where: { $0.certificateDaysLeft != nil })?.certificateDaysLeft
        if !window.isEmpty {
            input.failureFraction = Double(window.filter { !$0.ok }.count) / Double(window.count)
            input.anomalyFraction = Double(anomalies.count) / Double(window.count)
        }
        input.changePoints = shifts.filter { $0.detected >= windowStart }.count
        if let median = RobustStatistics.median(headlines) { input.baselineScore = baseline.score(median, at: now) }
        input.runs = window.count
        let health = HealthModel.assess(input)

        var diagnosis = Diagnosis.Input(
            agent: agent.description,
            headline: spread.headline[agent.description]
                ?? split(runs, at: windowStart, dayBefore: true) { $0.headline },
            unit: RunFeatures.unit(of: kind)
        )
        diagnosis.agents = spread.headline
        diagnosis.agentLoss = spread.loss
        for phase in ["dns", "connect", "tls", "first_byte"] {
            let phaseWindow = split(runs, at: windowStart, dayBefore: true) { $0.phases[phase] }
            if !phaseWindow.before.isEmpty && !phaseWindow.during.isEmpty { diagnosis.phases[phase] = phaseWindow }
        }
        let paths = kind == .traceroute ? runs : context.traceroutes[agent] ?? []
        let pathWindow = paths.filter { $0.pathFingerprint != nil }
        diagnosis.pathsBefore = pathWindow.filter { $0.startedAt < windowStart }.compactMap(\.pathFingerprint)
        diagnosis.pathsDuring = pathWindow.filter { $0.startedAt >= windowStart }.compactMap(\.pathFingerprint)
        if let host = context.host[agent] {
            diagnosis.host["cpu_percent"] = split(host, at: windowStart) { $0.cpuPercent }
            diagnosis.host["memory_percent"] = split(host, at: windowStart) { $0.memoryPercent }
        }
        diagnosis.devices = context.devices[agent] ?? []
        diagnosis.usualAtThisHour = baseline.band(at: now)?.median
        diagnosis.usualOverall = baseline.overall?.median

        var analysis = TestAnalysis.AgentAnalysis(
            agent: agent.description,
            historyRuns: history.count,
            windowRuns: window.count,
            health: health,
            baseline: baseline.band(at: now).map {
                let range = $0.range()
                return TestAnalysis.Band(median: $0.median, lower: range.lowerBound, upper: range.upperBound)
            },
            anomalies: anomalies,
            levelShifts: shifts.map {
                TestAnalysis.LevelShift(
                    at: $0.at.iso8601,
                    detectedAt: $0.detected.iso8601,
                    before: $0.before,
                    after: $0.after
                )
            },
            forecast: forecast.points,
            forecastRefusal: forecast.refusal,
            diagnosis: Diagnosis.rank(diagnosis)
        )
        let measured = window.filter { $0.headline != nil }
        let stride = max(1, (measured.count + 999) / 1000)
        analysis.recent = Swift.stride(from: 0, to: measured.count, by: stride).compactMap { index in
            measured[index].headline.map { TestAnalysis.Point(at: measured[index].startedAt.iso8601, value: $0) }
        }
        if RunFeatures.unit(of: kind) == "%" {
            (analysis.saturation, analysis.saturationRefusal) = saturation(runs, now: now)
        }
        if let newest = runs.last(where: { $0.certificateDaysLeft != nil }), let days = newest.certificateDaysLeft {
            analysis.certificateDaysLeft = days
            analysis.certificateExpiresAt = (newest.startedAt + .seconds(Int64(days * 86_400))).iso8601
        }
        analysis.baselineBand = bandPoints(
            baseline,
            from: windowStart,
            to: now + .seconds(3600 * Int64(options.forecastHours))
        )
        return analysis
    }

    /// Days until the hourly means reach 100% at their trend.
    static func saturation(_ runs: [RunFeatures], now: Timestamp) -> (TestAnalysis.Saturation?, String?) {
        let hour: Int64 = 3_600_000_000_000
        var sums: [Int64: (Double, Int)] = [:]
        for run in runs {
            guard let value = run.headline else { continue }
            let bucket = run.startedAt.unixNanos / hour
            let current = sums[bucket] ?? (0, 0)
            sums[bucket] = (current.0 + value, current.1 + 1)
        }
        let buckets = sums.keys.sorted()
        let times = buckets.map { Timestamp(unixNanos: $0 * hour + hour / 2) }
        let values = buckets.compactMap { sums[$0].map { $0.0 / Double($0.1) } }
        switch LinearTrend.daysUntil(100, times: times, values: values) {
        case .success(let (days, trend)):
            return (
                TestAnalysis.Saturation(
                    daysUntil: days,
                    at: (now + .seconds(Int64(days * 86_400))).iso8601,
                    slopePerDay: trend.slopePerDay,
                    level: trend.level
                ), nil
            )
        case .failure(let refusal):
            return (nil, "no saturation forecast: \(refusal)")
        }
    }

    /// The band as steps: it holds for each hour of the week, so each hour from `start` to `end`
    /// gives a point where it begins and one where it ends.
    static func bandPoints(
        _ baseline: SeasonalBaseline,
        from start: Timestamp,
        to end: Timestamp
    ) -> [TestAnalysis.BandPoint] {
        let hour: Int64 = 3_600_000_000_000
        var points: [TestAnalysis.BandPoint] = []
        var from = start
        while from < end && points.count < 4000 {
            let until = Timestamp(unixNanos: min(end.unixNanos, (from.unixNanos / hour + 1) * hour))
            if let band = baseline.band(at: from) {
                let range = band.range()
                for time in [from, until - .milliseconds(1)] {
                    points.append(
                        TestAnalysis.BandPoint(
                            at: time.iso8601,
                            median: band.median,
                            lower: range.lowerBound,
                            upper: range.upperBound
                        )
                    )
                }
            }
            from = until
        }
        return points
    }

    private static func levelShifts(
        _ runs: [RunFeatures],
        baseline: SeasonalBaseline
    ) -> [(at: Timestamp, detected: Timestamp, before: Double, after: Double)] {
        let measured = runs.filter { $0.headline != nil }
        return ChangePointDetector.levelShifts(
            times: measured.map(\.startedAt),
            values: measured.compactMap(\.headline),
            baseline: baseline
        ).map { (measured[$0.index].startedAt, measured[$0.detectedAt].startedAt, $0.before, $0.after) }
    }
}
