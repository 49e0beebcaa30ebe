import Foundation
// why: the benchmark takes the caller's logger for its store.
public import Logging
import SwarmAnalytics
import SwarmCore
import SwarmStore
import SwarmStoreSQLite

/// The cost of analytics beside the cost of reading what they analyse, in one run: `series`
/// (test, agent) series of a day at one-minute resolution in a fresh SQLite store, each read from
/// the store (the baseline) and then evaluated as the alert evaluator would: the seasonal baseline
/// learned and every point scored against it, CUSUM change points, an EWMA and an alert tracker.
public struct AnalyticsBench: Sendable {
    public struct Configuration: Sendable {
        public var series = 10_000
        public var points = 1440
        public var agentsPerTest = 10
        public init() {}
    }

    public struct Report: Sendable {
        public var series: Int
        public var points: Int
        public var readSeconds: Double
        public var evaluateSeconds: Double
        public var changePoints: Int
        public var alerts: Int
        public var ratio: Double { evaluateSeconds / readSeconds }
    }

    public let configuration: Configuration
    public let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run(progress: (String) -> Void) async throws -> Report {
        let c = configuration
        guard c.series >= c.agentsPerTest, c.points >= 60, c.agentsPerTest >= 1 else {
            throw BenchError(code: .invalidArgument, message: "need --series ≥ agents per test, --points ≥ 60")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swarm-bench-an-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(configuration: .init(path: "\(directory)/bench.sqlite"), logger: logger)
        let now = Timestamp.now()
        let start = now - .seconds(60 * c.points)
        let tests = c.series / c.agentsPerTest
        let agents = try (0..<c.agentsPerTest).map { i in
            guard let name = AgentName("bench-\(i)") else {
                throw BenchError(code: .invalidArgument, message: "agent name")
            }
            return name
        }
        for agent in agents {
            try await store.recordSessionStart(
                SessionStart(agent: agent, sessionID: "s-\(agent)", agentVersion: "bench", host: HostFacts(), at: now)
            )
        }
        progress("== seeding \(tests * agents.count) series x \(c.points) points (one a minute) into SQLite")
        var ids: [TestID] = []
        var random = SplitMix64(seed: 42)
        var batchIDs = [AgentName: UInt64]()
        for t in 0..<tests {
            let test = try await store.createTest(
                TestSpec(name: "bench \(t)", probes: [.icmp], target: .init(host: "192.0.2.\(t % 250 + 1)")),
                agents: agents
            )
            ids.append(test.id)
            for (a, agent) in agents.enumerated() {
                // Every 7th series has a level shift two thirds into the day.
                let shifted = (t * agents.count + a) % 7 == 0
                let rows = (0..<c.points).map { i -> MeasurementRecord in
                    var ms = 20 + 3 * sin(Double(i) / Double(c.points) * 2 * .pi) + (random.nextUnit() - 0.5)
                    if shifted && i > c.points * 2 / 3 { ms += 25 }
                    return MeasurementRecord(
                        testID: test.id,
                        revision: 1,
                        agent: agent,
                        sequence: UInt64(i + 1),
                        kind: .icmp,
                        startedAt: start + .seconds(60 * i),
                        duration: .milliseconds(10),
                        status: .ok,
                        value: ms * 1000,
                        figures: MeasurementFigures(lossPercent: 0),
                        payload: Data()
                    )
                }
                let id = (batchIDs[agent] ?? 0) + 1
                batchIDs[agent] = id
                _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: id, measurements: rows)])
            }
            if (t + 1) % max(1, tests / 10) == 0 { progress("   \(t + 1) of \(tests) tests seeded") }
        }

        progress("== reading and evaluating \(tests * agents.count) series")
        let clock = ContinuousClock()
        var read = Duration.zero
        var evaluate = Duration.zero
        var changePoints = 0
        var alerts = 0
        let range = TimeRange(from: start, to: now)
        for (t, test) in ids.enumerated() {
            for agent in agents {
                let began = clock.now
                let rows = try await store.measurements(test: test, agent: agent, range: range, limit: c.points + 1)
                let loaded = clock.now
                read += loaded - began
                let (shifts, raised) = Self.evaluate(rows)
                evaluate += clock.now - loaded
                changePoints += shifts
                alerts += raised
            }
            if (t + 1) % max(1, ids.count / 10) == 0 { progress("   \(t + 1) of \(ids.count) tests evaluated") }
        }
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        return Report(
            series: tests * agents.count,
            points: c.points,
            readSeconds: seconds(read),
            evaluateSeconds: seconds(evaluate),
            changePoints: changePoints,
            alerts: alerts
        )
    }

    /// What the evaluator does with one series: (level shifts found, alerts raised).
    static func evaluate(_ rows: [MeasurementRecord]) -> (Int, Int) {
        let times = rows.map(\.startedAt)
        let values = rows.map { ($0.value ?? .nan) / 1000 }
        let baseline = SeasonalBaseline(times: times, values: values)
        var ewma = EWMA(alpha: 0.1)
        var tracker = AlertTracker(condition: AlertCondition(comparison: .above, raise: 35, clear: 30, n: 3, m: 5))
        var raised = 0
        for (time, value) in zip(times, values) {
            _ = baseline.score(value, at: time)
            ewma.add(value)
            if tracker.observe(value) == .raised { raised += 1 }
        }
        return (ChangePointDetector.levelShifts(times: times, values: values, baseline: baseline).count, raised)
    }
}
