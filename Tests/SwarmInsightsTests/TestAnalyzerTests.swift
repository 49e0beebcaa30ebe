import Foundation
import SwarmAnalytics
import SwarmCore
import SwarmInsights
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// TestAnalyzer over a real SQLite store: three days of icmp runs from two agents, then an hour in
/// which one agent's latency jumps.
@Suite struct TestAnalyzerTests {
    static let now = Timestamp(unixNanos: 1_796_000_000 * 1_000_000_000)

    /// Runs every 5 minutes from `days` ago to now: 20 ms with a daily wave, `jump` ms in the last hour.
    func seed(_ store: SQLiteStore, days: Int, jump: Double) async throws -> TestRecord {
        let a = try #require(AgentName("a"))
        let b = try #require(AgentName("b"))
        for agent in [a, b] {
            try await store.recordSessionStart(
                SessionStart(
                    agent: agent,
                    sessionID: "s-\(agent)",
                    agentVersion: "test",
                    host: HostFacts(hostname: "\(agent).example", cpuCount: 2),
                    at: Self.now,
                    certificateSerial: ""
                )
            )
        }
        let test = try await store.createTest(
            TestSpec(name: "ping", probes: [.icmp], target: .init(host: "192.0.2.9")),
            agents: [a, b]
        )
        var random = SplitMix64(seed: 11)
        let steps = days * 288
        for agent in [a, b] {
            var rows: [MeasurementRecord] = []
            for step in 0..<steps {
                let at = Self.now - .seconds(300 * (steps - step))
                let hour = Double((at.unixNanos / 3_600_000_000_000) % 24)
                var ms = 20 + 2 * sin(hour / 24 * 2 * .pi) + (random.nextUnit() - 0.5)
                if agent == a && at >= Self.now - .seconds(3600) { ms = jump + (random.nextUnit() - 0.5) }
                rows.append(
                    MeasurementRecord(
                        testID: test.id,
                        revision: 1,
                        agent: agent,
                        sequence: UInt64(step + 1),
                        kind: .icmp,
                        startedAt: at,
                        duration: .milliseconds(50),
                        status: .ok,
                        value: ms * 1000,
                        figures: MeasurementFigures(lossPercent: 0, jitterMicros: 200),
                        payload: Data()
                    )
                )
            }
            _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: 1, measurements: rows)])
        }
        return test
    }

    @Test("a jump on one agent: anomalies, one level shift, failing health with the factors, local to that agent")
    func jump() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let test = try await seed(store, days: 3, jump: 80)
            let analysis = try await TestAnalyzer.analyze(test, store: store, now: Self.now)
            #expect(analysis.unit == "ms" && analysis.agents.map(\.agent) == ["a", "b"])
            let a = try #require(analysis.agents.first)
            let b = try #require(analysis.agents.last)
            #expect(a.windowRuns == 12 && a.historyRuns == 3 * 288 - 12)
            #expect(a.anomalies.count >= 11, "\(a.anomalies)")
            #expect(a.anomalies.first?.reasons.first?.contains("robust sigmas above the usual") == true)
            #expect(b.anomalies.count <= 1, "\(b.anomalies)")
            #expect(a.levelShifts.count == 1, "\(a.levelShifts)")
            #expect(a.levelShifts.first.map { abs($0.after - 80) < 2 } == true)
            #expect(a.health.state == .failing)
            // The chart's data: the window's runs above the baseline band, which runs on to the forecast's end
            // as steps: 25 hours not on hour boundaries are 26 pieces of an hour of the week, two points each.
            #expect(a.recent.count == 12 && a.recent.allSatisfy { abs($0.value - 80) < 1 })
            let band = try #require(a.baselineBand.first)
            #expect(band.upper < 30 && band.lower > 10 && a.baselineBand.count == 2 * 26, "\(a.baselineBand.count)")
            #expect(a.health.factors.contains { $0.name == "baseline_deviation" && $0.state == .failing })
            #expect(b.health.state == .healthy, "\(b.health)")
            #expect(
                analysis.health.state == .failing && analysis.health.factors.allSatisfy { $0.name.hasPrefix("a: ") }
            )
            #expect(a.diagnosis.first?.kind == .localToAgent, "\(a.diagnosis)")
            #expect(b.forecast.count == 24 && b.forecastRefusal == nil)
            #expect(b.forecast.allSatisfy { $0.lower < $0.mean && $0.mean < $0.upper && abs($0.mean - 20) < 4 })
        }
    }

    @Test("one day of history: no forecast, and the reason says how much is needed")
    func tooLittleForAForecast() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let test = try await seed(store, days: 1, jump: 20)
            let analysis = try await TestAnalyzer.analyze(test, store: store, now: Self.now)
            let a = try #require(analysis.agents.first)
            #expect(a.forecast.isEmpty)
            #expect(
                a.forecastRefusal
                    == "too little data for a forecast: 25 points, at least 48 needed (two full seasons) (hourly means: 25 hours of history)"
            )
        }
    }

    @Test("a host whose CPU climbs 5 points a day: 100% in about a week; a flat one and a short history say why not")
    func saturationOutlook() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let agent = try #require(AgentName("a"))
            try await store.recordSessionStart(
                SessionStart(agent: agent, sessionID: "s", agentVersion: "test", host: HostFacts(), at: Self.now)
            )
            var random = SplitMix64(seed: 5)
            func seed(_ name: String, days: Int, perDay: Double) async throws -> TestRecord {
                let test = try await store.createTest(TestSpec(name: name, probes: [.system]), agents: [agent])
                let steps = days * 288
                let rows = (0..<steps).map { step -> MeasurementRecord in
                    let age = Double(steps - step) * 300 / 86_400
                    return MeasurementRecord(
                        testID: test.id,
                        revision: 1,
                        agent: agent,
                        sequence: UInt64(step + 1),
                        kind: .system,
                        startedAt: Self.now - .seconds(300 * Int64(steps - step)),
                        duration: .milliseconds(5),
                        status: .ok,
                        value: 60 - perDay * age + (random.nextUnit() - 0.5) * 6,
                        payload: Data()
                    )
                }
                _ = try await store.commitBatches([
                    IncomingBatch(agent: agent, batchID: test.id.rawValue.magnitude, measurements: rows)
                ])
                return test
            }
            let rising = try await seed("rising", days: 10, perDay: 5)
            let outlook = try #require(try await TestAnalyzer.analyze(rising, store: store, now: Self.now).agents.first)
            let saturation = try #require(outlook.saturation, "\(outlook.saturationRefusal ?? "")")
            #expect(abs(saturation.daysUntil - 8) < 0.5 && abs(saturation.slopePerDay - 5) < 0.2, "\(saturation)")
            let flat = try await seed("flat", days: 10, perDay: 0)
            let none = try #require(try await TestAnalyzer.analyze(flat, store: store, now: Self.now).agents.first)
            #expect(none.saturation == nil && none.saturationRefusal?.contains("no rising trend toward 100") == true)
            let short = try await seed("short", days: 2, perDay: 5)
            let early = try #require(try await TestAnalyzer.analyze(short, store: store, now: Self.now).agents.first)
            #expect(
                early.saturationRefusal?.contains("at least 3 days of history, there are 2") == true,
                "\(early.saturationRefusal ?? "")"
            )
        }
    }
}
