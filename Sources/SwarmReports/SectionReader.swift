import SwarmAnalytics
import SwarmCore
import SwarmInsights
import SwarmStore

/// One test's part of a report, from its series: chart buckets with every agent merged, the key
/// figures, per-agent figures, hop-count changes and level shifts.
enum SectionReader {
    static func section(
        _ test: TestRecord,
        tests: [TestRecord],
        request: ReportRequest,
        plan: ReportBuilder.Plan,
        store: any Store
    ) async throws -> Report.TestSection? {
        let (bucket, fine, resolution) = (plan.chartBucket, plan.fineBucket, plan.resolution)
        let kind = test.spec.probes.first ?? .system
        let agent: AgentName? = if case .agent(let name) = request.scope { name } else { nil }
        // Finer buckets than the chart's for the period's percentiles; grouped into the chart's.
        let rows = try await store.series(
            SeriesQuery(
                test: test.id,
                agent: agent,
                range: request.period,
                bucket: .seconds(fine),
                resolution: resolution
            )
        )
        guard !rows.isEmpty else { return nil }
        let unit = Headline.unit(of: kind)
        let buckets = chartBuckets(rows, chart: bucket, origin: request.period.from, kind: kind)
        var section = Report.TestSection(
            id: test.id,
            name: test.spec.name,
            kind: kind,
            target: ReportBuilder.target(test),
            unit: unit,
            bucketSeconds: bucket,
            resolution: resolution.rawValue,
            buckets: buckets,
            figures: figures(buckets, rows: rows, kind: kind),
            agents: agentFigures(rows, kind: kind),
            pathChanges: [],
            levelShifts: []
        )
        let averages = buckets.compactMap { b in b.avg.map { (b.start, $0) } }
        section.levelShifts = ChangePointDetector(warmup: 10).detect(averages.map(\.1)).map { averages[$0.index].0 }
        // Hop-count changes of the traceroute test to the same target (or of this one).
        let trace =
            kind == .traceroute
            ? test
            : tests.first {
                $0.spec.probes.first == .traceroute && $0.spec.target.host == test.spec.target.host
                    && !test.spec.target.host.isEmpty && !Set($0.agents).isDisjoint(with: test.agents)
            }
        if let trace {
            let hops =
                trace.id == test.id
                ? rows
                : try await store.series(
                    SeriesQuery(
                        test: trace.id,
                        agent: agent,
                        range: request.period,
                        bucket: .seconds(bucket),
                        resolution: resolution
                    )
                )
            section.pathChanges = hopChanges(hops)
        }
        return section
    }

    static func mixture(_ rows: some Sequence<SeriesBucket>) -> QuantileMixture {
        var mixture = QuantileMixture()
        for row in rows {
            mixture.add(
                min: row.min,
                p50: row.p50,
                p90: row.p90,
                p99: row.p99,
                max: row.max,
                mean: row.avg,
                weight: row.okCount
            )
        }
        return mixture
    }

    /// Fine buckets of every agent grouped into the chart's: counts add up, the mean is weighted
    /// by the runs that had a value, loss by all runs, percentiles come from the mixture.
    /// Buckets start at `origin` and every `chart` seconds after it, as the store's do.
    static func chartBuckets(
        _ rows: [SeriesBucket],
        chart: Int64,
        origin: Timestamp,
        kind: ProbeKind
    ) -> [Report.Bucket] {
        let size = chart * 1_000_000_000
        let groups = Dictionary(grouping: rows) { row in
            let offset = row.start.unixNanos - origin.unixNanos
            return Timestamp(unixNanos: origin.unixNanos + (offset - ((offset % size) + size) % size))
        }
        return groups.keys.sorted().map { start in
            let group = groups[start] ?? []
            let d = { (v: Double?) in v.map { Headline.display($0, kind: kind) } }
            let mixture = mixture(group)
            return Report.Bucket(
                start: start,
                count: group.map(\.count).reduce(0, +),
                okCount: group.map(\.okCount).reduce(0, +),
                avg: d(weighted(group, \.avg, by: \.okCount)),
                p50: d(mixture.quantile(0.5)),
                p90: d(mixture.quantile(0.9)),
                p99: d(mixture.quantile(0.99)),
                min: d(group.compactMap(\.min).min()),
                max: d(group.compactMap(\.max).max()),
                lossPercent: weighted(group, \.lossPercent, by: \.count)
            )
        }
    }

    /// The mean of `value` weighted by `weight` (store buckets or chart buckets alike).
    static func weighted<Row>(
        _ rows: [Row],
        _ value: KeyPath<Row, Double?>,
        by weight: KeyPath<Row, Int>
    ) -> Double? {
        let pairs = rows.compactMap { row in row[keyPath: value].map { ($0, Double(row[keyPath: weight])) } }
        guard !pairs.isEmpty else { return nil }
        let total = pairs.map(\.1).reduce(0, +)
        guard total > 0 else { return pairs.map(\.0).reduce(0, +) / Double(pairs.count) }
        return pairs.map { $0.0 * $0.1 }.reduce(0, +) / total
    }

    /// The key figures of a test over the period (every agent): availability, the headline's
    /// p50/p95/p99 (the mixture of the fine buckets), loss and jitter.
    static func figures(_ buckets: [Report.Bucket], rows: [SeriesBucket], kind: ProbeKind) -> [Report.Figure] {
        let unit = Headline.unit(of: kind)
        let runs = buckets.map(\.count).reduce(0, +)
        let ok = buckets.map(\.okCount).reduce(0, +)
        var figures: [Report.Figure] = [.init(name: "runs", value: "\(runs)")]
        if runs > 0 {
            figures.append(.init(name: "availability", value: Format.percent(100 * Double(ok) / Double(runs))))
        }
        let name = figureName(kind)
        let all = mixture(rows)
        if let p50 = all.quantile(0.5) {
            for (label, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                let value = q == 0.5 ? p50 : all.quantile(q) ?? p50
                figures.append(
                    .init(name: "\(name) \(label)", value: Format.value(Headline.display(value, kind: kind), unit))
                )
            }
        }
        if kind == .bandwidth, let low = buckets.compactMap(\.min).min() {
            figures.append(.init(name: "throughput lowest", value: Format.value(low, unit)))
        }
        if let loss = weighted(buckets, \.lossPercent, by: \.count) {
            figures.append(.init(name: "loss", value: Format.percent(loss)))
        }
        if let jitter = weighted(rows, \.jitterMicros, by: \.okCount) {
            figures.append(.init(name: "jitter", value: Format.value(jitter / 1000, "ms")))
        }
        return figures
    }

    /// What a kind's headline is called in figures and chart titles.
    static func figureName(_ kind: ProbeKind) -> String {
        switch kind {
        case .icmp, .udp, .tcp, .dns, .http: "latency"
        case .bandwidth: "throughput"
        case .traceroute: "hop count"
        case .system, .gnmi: "CPU"
        case .mtu: "path MTU"
        }
    }

    static func agentFigures(_ rows: [SeriesBucket], kind: ProbeKind) -> [Report.AgentFigures] {
        Dictionary(grouping: rows, by: \.agent).sorted { $0.key < $1.key }.map { agent, rows in
            let runs = rows.map(\.count).reduce(0, +)
            let ok = rows.map(\.okCount).reduce(0, +)
            return Report.AgentFigures(
                agent: agent.description,
                runs: runs,
                availabilityPercent: runs > 0 ? 100 * Double(ok) / Double(runs) : nil,
                p50: mixture(rows).quantile(0.5).map { Headline.display($0, kind: kind) },
                lossPercent: weighted(rows, \.lossPercent, by: \.count)
            )
        }
    }

    /// Bucket starts where a traceroute's hop count changed on an agent: within the bucket (its
    /// lowest and highest differ), or from a steady previous bucket (a change inside that one
    /// was marked there already).
    static func hopChanges(_ rows: [SeriesBucket]) -> [Timestamp] {
        var changes: Set<Timestamp> = []
        for (_, series) in Dictionary(grouping: rows, by: \.agent) {
            var previous: (avg: Double, steady: Bool)?
            for row in series.sorted(by: { $0.start < $1.start }) {
                guard let avg = row.avg else { continue }
                let steady = (row.max ?? avg) - (row.min ?? avg) < 1
                if !steady { changes.insert(row.start) }
                if let previous, previous.steady, abs(avg - previous.avg) >= 0.5 { changes.insert(row.start) }
                previous = (avg, steady)
            }
        }
        return changes.sorted()
    }

    /// The CPU of inventory devices collected by the scope's agents, from their gNMI rollups.
    static func devices(
        _ request: ReportRequest,
        tests: [TestRecord],
        all: [TestRecord],
        plan: ReportBuilder.Plan,
        store: any Store
    ) async throws -> [Report.DeviceSeries] {
        let (bucket, resolution) = (plan.chartBucket, plan.resolution)
        let agents = Set(tests.flatMap(\.agents))
        var series: [Report.DeviceSeries] = []
        for device in try await store.devices().sorted(by: { $0.name < $1.name }) {
            guard let id = device.testID, let test = all.first(where: { $0.id == id }) else { continue }
            if case .swarm = request.scope {} else if Set(test.agents).isDisjoint(with: agents) { continue }
            let rows = try await store.series(
                SeriesQuery(test: id, range: request.period, bucket: .seconds(bucket), resolution: resolution)
            )
            let points = chartBuckets(rows, chart: bucket, origin: request.period.from, kind: .gnmi).compactMap { b in
                b.avg.map { Report.DeviceSeries.Point(start: b.start, value: $0) }
            }
            if !points.isEmpty { series.append(.init(device: device.name, points: points)) }
        }
        return series
    }
}
