import Foundation
import SwarmAnalytics
import SwarmCore
import SwarmInsights
import SwarmReports
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// Reports over a real SQLite store, rolled up as the retention job does, rendered by cairo and
/// read back with poppler: three days of icmp runs from two agents (agent a's latency jumps in
/// the last hour, agent b loses 10% in every fifth run), a traceroute to the same target whose
/// hop count changes, and an alert in the period.
@Suite struct ReportTests {
    static let now = Timestamp(unixNanos: 1_796_000_000 * 1_000_000_000)
    static let period = TimeRange(from: now - .seconds(3 * 86_400), to: now)

    struct Seeded {
        var store: SQLiteStore
        var ping: TestRecord
        var trace: TestRecord
        /// The ping's successful values in ms, per agent.
        var values: [String: [Double]]
    }

    /// The q-quantile of a sample as the report defines it: the smallest value with at least q
    /// of the sample at or below it.
    static func quantile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted[max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
    }

    func seed(_ dir: String) async throws -> Seeded {
        let store = try makeTestStore(in: dir)
        let a = try #require(AgentName("a"))
        let b = try #require(AgentName("b"))
        let ping = try await store.createTest(
            TestSpec(name: "ping core", probes: [.icmp], target: .init(host: "192.0.2.9")),
            agents: [a, b]
        )
        let trace = try await store.createTest(
            TestSpec(name: "path to core", probes: [.traceroute], target: .init(host: "192.0.2.9")),
            agents: [a]
        )
        var random = SplitMix64(seed: 7)
        var values: [String: [Double]] = [:]
        let steps = 3 * 288
        for agent in [a, b] {
            var rows: [MeasurementRecord] = []
            for step in 0..<steps {
                let at = Self.now - .seconds(300 * (steps - step))
                var ms = 20 + (random.nextUnit() - 0.5)
                if agent == a && at >= Self.now - .seconds(3600) { ms = 80 + (random.nextUnit() - 0.5) }
                let loss = agent == b && step % 5 == 0 ? 10.0 : 0
                if !(agent == b && step % 50 == 0) { values[agent.description, default: []].append(ms) }
                rows.append(
                    record(
                        ping.id,
                        agent,
                        step,
                        .icmp,
                        at,
                        value: ms * 1000,
                        loss: loss,
                        failed: agent == b && step % 50 == 0
                    )
                )
                if agent == a {
                    // 3 hops, 4 from the middle of the second day.
                    let hops = step >= 432 ? 4.0 : 3.0
                    rows.append(record(trace.id, agent, step, .traceroute, at, value: hops, loss: 0, failed: false))
                }
            }
            _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: 1, measurements: rows)])
        }
        var rolled = try await store.rollUp(closedBefore: Self.now, maxSpan: .seconds(10 * 86_400))
        while !rolled.caughtUp {
            rolled = try await store.rollUp(closedBefore: Self.now, maxSpan: .seconds(10 * 86_400))
        }
        _ = try await store.raiseAlert(
            AlertRecord(
                ruleID: nil,
                ruleName: "core latency",
                metric: .latency,
                severity: .critical,
                test: ping.id,
                agent: a,
                raisedAt: Self.now - .seconds(3000),
                raisedValue: 80,
                message: "core latency: latency 80 ms for test \(ping.id) (ping core) on agent a"
            ),
            notify: []
        )
        return Seeded(store: store, ping: ping, trace: trace, values: values)
    }

    func record(
        _ test: TestID,
        _ agent: AgentName,
        _ step: Int,
        _ kind: ProbeKind,
        _ at: Timestamp,
        value: Double,
        loss: Double,
        failed: Bool
    ) -> MeasurementRecord {
        MeasurementRecord(
            testID: test,
            revision: 1,
            agent: agent,
            sequence: UInt64(step + 1),
            kind: kind,
            startedAt: at,
            duration: .milliseconds(50),
            status: failed ? .failed : .ok,
            value: failed ? nil : value,
            figures: MeasurementFigures(lossPercent: loss, jitterMicros: 300),
            payload: Data()
        )
    }

    func render(_ request: ReportRequest, _ store: SQLiteStore, dir: String) async throws -> (Report, PDFFile) {
        let report = try await ReportBuilder.build(request, store: store, now: Self.now)
        let data = try ReportRenderer.pdf(report)
        let path = "\(dir)/\(UUID().uuidString).pdf"
        try data.write(to: URL(fileURLWithPath: path))
        return (report, PDFFile(path: path, scratch: dir))
    }

    /// The counts the store gives for the period, and loss as their count-weighted mean.
    func expectedFigures(
        _ store: SQLiteStore,
        test: TestID,
        agent: AgentName? = nil
    ) async throws -> (
        runs: Int, availability: Double, loss: Double
    ) {
        let rows = try await store.series(
            SeriesQuery(test: test, agent: agent, range: Self.period, bucket: .seconds(1800), resolution: .minute)
        )
        let runs = rows.map(\.count).reduce(0, +)
        let ok = rows.map(\.okCount).reduce(0, +)
        let loss =
            rows.compactMap { r in r.lossPercent.map { $0 * Double(r.count) } }.reduce(0, +)
            / Double(rows.filter { $0.lossPercent != nil }.map(\.count).reduce(0, +))
        return (runs, 100 * Double(ok) / Double(runs), loss)
    }

    @Test("a test report: the figures in the text are the store's, the pages render, the chart is drawn")
    func testReport() async throws {
        try await withTemporaryDirectory { dir in
            let seeded = try await seed(dir)
            let request = ReportRequest(scope: .test(seeded.ping.id), period: Self.period, generatedBy: "dana")
            let (report, pdf) = try await render(request, seeded.store, dir: dir)
            let text = try pdf.text()
            let expected = try await expectedFigures(seeded.store, test: seeded.ping.id)
            let all = seeded.values.values.flatMap { $0 }
            #expect(text.contains("Test report: ping core"))
            #expect(text.contains("Generated by") && text.contains("dana"))
            #expect(text.contains("2026-11-27 00:53 UTC – 2026-11-30 00:53 UTC (3 d)"), "\(text.prefix(600))")
            #expect(text.contains("runs") && text.contains("\(expected.runs)"))
            #expect(text.contains(String(format: "%.2f%%", (expected.availability * 100).rounded(.down) / 100)))
            // The period's percentiles are the seeded values' (one run per read bucket: exact).
            for (name, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                let value = Diagnosis.text(Self.quantile(all, q))
                #expect(text.contains("latency \(name) \(value) ms"), "\(name) \(value)")
            }
            #expect(text.contains("loss \(Diagnosis.text(expected.loss))%"), "loss \(expected.loss)")
            // The alert, the path change on the second day, the finding about agent a, and what to do.
            #expect(text.contains("core latency") && text.contains("critical"))
            #expect(text.contains("Path changes (traceroute hop count changed): 2026-11-28 12:23 UTC\n"), "\(text)")
            #expect(report.findings.contains { $0.agent == "a" && $0.health.state == .failing })
            #expect(text.contains("while 'core latency' was raised (2026-11-30 00:03 UTC–open)"))
            #expect(text.contains("Likely cause: only a sees it"), "\(report.findings)")
            #expect(report.recommendations.contains { $0.contains("on a: only this agent sees it") })
            #expect(text.contains("Recommendations") && text.contains("1. "))

            let pages = try pdf.pageCount()
            #expect(pages >= 2 && text.contains("Page 1 of \(pages)") && text.contains("Page \(pages) of \(pages)"))
            let info = try pdf.info()
            #expect(info["Page size"]?.contains("595.276 x 841.89") == true, "\(info)")
            #expect(info["Title"] == "Test report: ping core" && info["Author"] == "dana")
            let fonts = try ChildProcess.run("/usr/bin/pdffonts", [pdf.path], in: dir).1
            #expect(fonts.contains("DejaVuSans") && fonts.contains("DejaVuSans-Bold"), "\(fonts)")
            // Every page renders; the one with the latency chart has its p50 line drawn.
            let chartPage = try #require((1...pages).first { try pdf.text(page: $0).contains("Latency") })
            for page in 1...pages {
                let raster = try pdf.render(page: page)
                #expect(raster.width > 300 && raster.inked > 500, "page \(page) is blank")
            }
            #expect(try pdf.render(page: chartPage, dpi: 72).blue > 400)
        }
    }

    @Test("agent and swarm reports; Letter paper; a period without data says so")
    func scopes() async throws {
        try await withTemporaryDirectory { dir in
            let seeded = try await seed(dir)
            let agentB = try #require(AgentName("b"))
            let (agentReport, agentPDF) = try await render(
                ReportRequest(scope: .agent(agentB), period: Self.period, paper: .letter, generatedBy: "cli"),
                seeded.store,
                dir: dir
            )
            let agentText = try agentPDF.text()
            let b = try await expectedFigures(seeded.store, test: seeded.ping.id, agent: agentB)
            #expect(agentText.contains("Agent report: b"))
            #expect(agentReport.sections.map(\.id) == [seeded.ping.id], "b runs only the ping")
            #expect(agentText.contains("runs \(b.runs)") && agentText.contains("loss \(Diagnosis.text(b.loss))%"))
            #expect(!agentText.contains("core latency"), "the alert is agent a's")
            #expect(try agentPDF.info()["Page size"]?.contains("612 x 792") == true)

            let (swarm, swarmPDF) = try await render(
                ReportRequest(scope: .swarm, period: Self.period, generatedBy: "schedule weekly"),
                seeded.store,
                dir: dir
            )
            let swarmText = try swarmPDF.text()
            #expect(swarmText.contains("Swarm report") && swarmText.contains("2 test(s) on 2 agent(s)"))
            #expect(Set(swarm.sections.map(\.id)) == [seeded.ping.id, seeded.trace.id])
            #expect(swarmText.contains("tests with data") && swarmText.contains("path to core"))
            #expect(swarm.health?.state == .failing)

            let empty = TimeRange(from: Self.now - .seconds(30 * 86_400), to: Self.now - .seconds(20 * 86_400))
            let (_, emptyPDF) = try await render(
                ReportRequest(scope: .swarm, period: empty, generatedBy: "cli"),
                seeded.store,
                dir: dir
            )
            let emptyText = try emptyPDF.text()
            #expect(emptyText.contains("No test in this scope has results in the period."))
            #expect(emptyText.contains("No alert was open in this period."))
        }
    }

    @Test("bad requests are refused with the reason")
    func refusals() async throws {
        try await withTemporaryDirectory { dir in
            let seeded = try await seed(dir)
            func refusal(_ request: ReportRequest) async -> String? {
                do {
                    _ = try await ReportBuilder.build(request, store: seeded.store, now: Self.now)
                    return nil
                } catch { return "\(error)" }
            }
            let missing = await refusal(ReportRequest(scope: .test(TestID(999)), period: Self.period, generatedBy: "x"))
            #expect(missing?.contains("there is no test 999") == true)
            let ghost = try #require(AgentName("ghost"))
            #expect(
                await refusal(ReportRequest(scope: .agent(ghost), period: Self.period, generatedBy: "x"))?
                    .contains("there is no agent ghost") == true
            )
            let reversed = TimeRange(from: Self.now, to: Self.now - .seconds(60))
            #expect(
                await refusal(ReportRequest(scope: .swarm, period: reversed, generatedBy: "x"))?
                    .contains("the period is empty") == true
            )
            #expect(throws: ReportScope.Invalid.self) { try ReportScope(parsing: "test:abc") }
            #expect(throws: ReportScope.Invalid.self) { try ReportScope(parsing: "router:r1") }
            #expect(try ReportScope(parsing: "agent:edge-1") == .agent(try #require(AgentName("edge-1"))))
        }
    }
}
