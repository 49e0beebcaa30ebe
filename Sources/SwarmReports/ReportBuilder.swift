import Foundation
import SwarmAnalytics
// why: build takes SwarmCore times and a SwarmStore store.
public import SwarmCore
import SwarmInsights
public import SwarmStore

/// Reads what a report shows from the store: series from the rollups (never the raw rows of a
/// long period), alerts of the period, and the analyzer's findings over the end of the period.
public enum ReportBuilder {
    public struct Options: Sendable {
        /// Chart points per test at most; the bucket grows with the period.
        public var maxBuckets = 240
        /// Buckets per agent read for a test's percentiles, about (finer where rollups allow).
        public var maxFineBuckets = 1000
        /// Tests analysed at once (the analyzer is CPU work: one per core here).
        public var analysisConcurrency = 2
        /// Tests charted at most (the worst first); the rest are summarised in the table.
        public var maxChartedTests = 12
        /// The findings judge this much of the end of the period against the week before it.
        public var findingsWindow: Duration = .seconds(3600)
        /// Alerts of the period diagnosed over their own time (the newest first).
        public var diagnosedIncidents = 10
        public var findingsHistory: Duration = .seconds(7 * 86_400)
        /// Runs the analyzer reads per test and agent (the newest): keeps memory bounded.
        public var analysisRowLimit = 5_000
        public var maxIncidents = 200
        public init() {}
    }

    /// Bucket lengths a chart uses, the shortest that keeps it within `maxBuckets`.
    static let bucketSteps: [Int64] = [
        10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
    ]

    public static func build(
        _ request: ReportRequest,
        store: any Store,
        now: Timestamp = .now(),
        options: Options = Options(),
        progress: (String) -> Void = { _ in }
    ) async throws -> Report {
        try request.validate()
        let all = try await store.tests()
        let (tests, scopeDescription) = try await scoped(request.scope, all, store)
        let plan = try await plan(request.period, store: store, now: now, options: options)
        var sections: [Report.TestSection] = []
        for (index, test) in tests.enumerated() {
            progress("reading test \(test.id) '\(test.spec.name)' (\(index + 1) of \(tests.count))")
            if let section = try await SectionReader.section(
                test,
                tests: all,
                request: request,
                plan: plan,
                store: store
            ) {
                sections.append(section)
            }
        }
        progress("judging the end of the period (\(sections.count) test(s))")
        let analysed = try await analyse(
            sections.compactMap { s in tests.first { $0.id == s.id } },
            all: all,
            request,
            store,
            options
        )
        var findings: [Report.Finding] = []
        for index in sections.indices {
            guard let result = analysed[sections[index].id] else { continue }
            sections[index].health = result.health
            sections[index].figures += result.extraFigures
            findings += result.findings
        }
        // The worst tests are charted; the rest keep their figures in the table only.
        sections.sort { a, b in
            let (sa, sb) = (a.health?.state ?? .healthy, b.health?.state ?? .healthy)
            if sa != sb { return sa > sb }
            return (a.health?.score ?? 100, a.id) < (b.health?.score ?? 100, b.id)
        }
        var uncharted: [String] = []
        for index in sections.indices.dropFirst(options.maxChartedTests) {
            sections[index].buckets = []
            uncharted.append("\(sections[index].name) (test \(sections[index].id))")
        }
        progress("reading alerts and devices")
        let incidents = try await self.incidents(request, tests: Set(tests.map(\.id)), store: store, options: options)
        for incident in incidents.alerts.suffix(options.diagnosedIncidents).reversed() {
            guard let id = incident.test, let agent = incident.agent, let test = tests.first(where: { $0.id == id })
            else { continue }
            // The alert's own runs (until it cleared, an hour at most) against the week before.
            let end = min(
                incident.clearedAt ?? request.period.to,
                incident.raisedAt + .seconds(3600),
                request.period.to
            )
            let span =
                Format.time(incident.raisedAt) + "–"
                + (incident.clearedAt.map { String(Format.time($0).dropFirst(11)) } ?? "open")
            findings += try await self.findings(
                test,
                all: all,
                request: request,
                store: store,
                options: options,
                at: end + .seconds(1),
                window: max(.seconds(300), end - incident.raisedAt + .seconds(60)),
                context: "while '\(incident.ruleName)' was raised (\(span))",
                agent: agent.description
            ).findings
        }
        let devices = try await SectionReader.devices(request, tests: tests, all: all, plan: plan, store: store)
        let health =
            sections.isEmpty
            ? nil
            : HealthModel.aggregate(sections.compactMap { s in s.health.map { (name: s.name, health: $0) } })
        var report = Report(
            title: title(request.scope, sections: sections),
            request: request,
            scopeDescription: scopeDescription,
            generatedAt: now,
            health: health,
            figures: summaryFigures(sections, incidents: incidents.list, moreIncidents: incidents.more),
            sections: sections,
            uncharted: uncharted,
            incidents: incidents.list,
            moreIncidents: incidents.more,
            findingsWindow: min(options.findingsWindow, request.period.to - request.period.from),
            findings: findings,
            recommendations: [],
            devices: devices
        )
        report.recommendations = Recommendations.make(report)
        return report
    }

    // MARK: - Scope

    static func scoped(
        _ scope: ReportScope,
        _ all: [TestRecord],
        _ store: any Store
    ) async throws -> ([TestRecord], String) {
        switch scope {
        case .test(let id):
            guard let test = all.first(where: { $0.id == id }) else {
                throw ReportError(
                    "there is no test \(id): list tests with 'streamswarm tests list'",
                    unknownScope: true
                )
            }
            return (
                [test], "test \(id) '\(test.spec.name)' (\(test.spec.probes.first?.rawValue ?? "?") to \(target(test)))"
            )
        case .agent(let name):
            let tests = all.filter { $0.agents.contains(name) }
            guard try await store.agent(name) != nil || !tests.isEmpty else {
                throw ReportError(
                    "there is no agent \(name): list agents with 'streamswarm agents list'",
                    unknownScope: true
                )
            }
            return (tests, "agent \(name) (\(tests.count) test(s))")
        case .swarm:
            let agents = Set(all.flatMap(\.agents))
            return (all, "the whole swarm (\(all.count) test(s) on \(agents.count) agent(s))")
        }
    }

    static func target(_ test: TestRecord) -> String {
        let host = test.spec.target.host
        guard !host.isEmpty else { return "this host" }
        return test.spec.target.port > 0 ? "\(host):\(test.spec.target.port)" : host
    }

    static func title(_ scope: ReportScope, sections: [Report.TestSection]) -> String {
        switch scope {
        case .test: "Test report: \(sections.first?.name ?? "no data")"
        case .agent(let name): "Agent report: \(name)"
        case .swarm: "Swarm report"
        }
    }

    // MARK: - Buckets

    /// How a report reads its series: chart buckets, the finer buckets read for percentiles, and
    /// the resolution (rollups whenever a bucket is a minute or more).
    public struct Plan: Sendable, Hashable {
        public var chartBucket: Int64
        public var fineBucket: Int64
        public var resolution: SeriesResolution
    }

    public static func plan(
        _ period: TimeRange,
        store: any Store,
        now: Timestamp,
        options: Options = Options()
    ) async throws -> Plan {
        let chart = bucketSeconds(period, max: options.maxBuckets)
        let span = max(1, (period.to - period.from).seconds)
        let floor = max(1, span / Double(options.maxFineBuckets))
        let fine = ([1] + bucketSteps).first { Double($0) >= floor && chart % $0 == 0 } ?? chart
        let policy = try await RetentionPolicy.load(from: store)
        let watermarks = try await store.rollupWatermarks()
        let pick = SeriesResolution.pick(
            range: period,
            bucket: .seconds(fine),
            now: now,
            policy: policy,
            rawKeptFrom: watermarks[.raw]
        )
        // The coarsest rollups the fine bucket allows: a 30-day report reads 720 hour rollups a
        // series, not 43,200 minute ones; rollups (with their percentiles) from a minute up.
        let resolution: SeriesResolution = fine >= 3600 ? .hour : fine >= 60 ? Swift.max(pick, .minute) : pick
        return Plan(chartBucket: chart, fineBucket: fine, resolution: resolution)
    }

    static func bucketSeconds(_ period: TimeRange, max: Int) -> Int64 {
        let span = Swift.max(1, (period.to - period.from).seconds)
        return bucketSteps.first { span / Double($0) <= Double(max) } ?? bucketSteps[bucketSteps.count - 1]
    }

    // MARK: - Findings

    /// The findings of `tests`, `analysisConcurrency` at a time.
    static func analyse(
        _ tests: [TestRecord],
        all: [TestRecord],
        _ request: ReportRequest,
        _ store: any Store,
        _ options: Options
    ) async throws -> [TestID: Analysed] {
        try await withThrowingTaskGroup(of: (TestID, Analysed).self) { group in
            var pending = tests.makeIterator()
            var results: [TestID: Analysed] = [:]
            for _ in 0..<max(1, options.analysisConcurrency) {
                guard let test = pending.next() else { break }
                group.addTask {
                    (test.id, try await findings(test, all: all, request: request, store: store, options: options))
                }
            }
            while let (id, result) = try await group.next() {
                results[id] = result
                if let test = pending.next() {
                    group.addTask {
                        (test.id, try await findings(test, all: all, request: request, store: store, options: options))
                    }
                }
            }
            return results
        }
    }

    struct Analysed {
        var health: Health?
        var findings: [Report.Finding] = []
        var extraFigures: [Report.Figure] = []
    }

    static func findings(
        _ test: TestRecord,
        all: [TestRecord],
        request: ReportRequest,
        store: any Store,
        options: Options,
        at end: Timestamp? = nil,
        window: Duration? = nil,
        context: String? = nil,
        agent only: String? = nil
    ) async throws -> Analysed {
        var analyzer = TestAnalyzer.Options()
        analyzer.window = window ?? min(options.findingsWindow, request.period.to - request.period.from)
        analyzer.history = analyzer.window + options.findingsHistory
        analyzer.forecastHours = 0
        analyzer.rowLimit = options.analysisRowLimit
        let now = end ?? request.period.to
        let analysis = try await TestAnalyzer.analyze(test, tests: all, store: store, now: now, options: analyzer)
        var agents = analysis.agents
        if case .agent(let name) = request.scope { agents = agents.filter { $0.agent == name.description } }
        if let only { agents = agents.filter { $0.agent == only } }
        let context = context ?? "at the end of the period (last \(Format.duration(analyzer.window)))"
        var result = Analysed()
        result.health =
            agents.isEmpty ? nil : HealthModel.aggregate(agents.map { (name: $0.agent, health: $0.health) })
        for agent in agents where agent.windowRuns > 0 {
            let finding = Report.Finding(
                context: context,
                test: "\(test.spec.name) (test \(test.id))",
                agent: agent.agent,
                health: agent.health,
                causes: agent.diagnosis,
                anomalies: agent.anomalies.count,
                saturationDays: agent.saturation?.daysUntil,
                certificateDaysLeft: agent.certificateDaysLeft
            )
            if finding.health.state != .healthy || !finding.causes.isEmpty || finding.anomalies > 0
                || (finding.saturationDays ?? .infinity) < 90 || (finding.certificateDaysLeft ?? .infinity) < 30
            {
                result.findings.append(finding)
            }
        }
        let mos = agents.compactMap { $0.health.factors.first { $0.name == "mos" }?.value }
        if let worst = mos.min() {
            result.extraFigures.append(.init(name: "MOS (worst agent, end of period)", value: Format.number(worst)))
        }
        return result
    }

    // MARK: - Incidents

    static func incidents(
        _ request: ReportRequest,
        tests: Set<TestID>,
        store: any Store,
        options: Options
    ) async throws -> (list: [Report.Incident], more: Int, alerts: [AlertRecord]) {
        let alerts = try await store.alerts(AlertQuery(limit: 10_000))
        let inPeriod = alerts.filter { alert in
            guard alert.raisedAt < request.period.to, (alert.clearedAt ?? .now()) >= request.period.from else {
                return false
            }
            switch request.scope {
            case .swarm: return true
            case .test: return alert.test.map { tests.contains($0) } ?? false
            case .agent(let name):
                return alert.agent == name || (alert.agent == nil && alert.test.map { tests.contains($0) } ?? false)
            }
        }.sorted { $0.raisedAt < $1.raisedAt }
        let list = inPeriod.prefix(options.maxIncidents).map { alert in
            Report.Incident(
                raisedAt: alert.raisedAt,
                clearedAt: alert.clearedAt,
                severity: alert.severity.rawValue,
                rule: alert.ruleName,
                scope: [alert.test.map { "test \($0)" }, alert.agent.map { "agent \($0)" }].compactMap { $0 }
                    .joined(separator: ", "),
                message: alert.message
            )
        }
        return (Array(list), inPeriod.count - list.count, Array(inPeriod.prefix(options.maxIncidents)))
    }

    // MARK: - Summary

    static func summaryFigures(
        _ sections: [Report.TestSection],
        incidents: [Report.Incident],
        moreIncidents: Int
    )
        -> [Report.Figure]
    {
        let runs = sections.flatMap(\.agents).map(\.runs).reduce(0, +)
        let ok = sections.flatMap(\.agents).map { Double($0.runs) * ($0.availabilityPercent ?? 0) / 100 }
            .reduce(0, +)
        var figures: [Report.Figure] = [
            .init(name: "tests with data", value: "\(sections.count)"),
            .init(name: "agents", value: "\(Set(sections.flatMap(\.agents).map(\.agent)).count)"),
            .init(name: "runs", value: "\(runs)"),
        ]
        if runs > 0 {
            figures.append(.init(name: "availability", value: Format.percent(100 * ok / Double(runs))))
        }
        figures.append(.init(name: "alerts in the period", value: "\(incidents.count + moreIncidents)"))
        return figures
    }
}
