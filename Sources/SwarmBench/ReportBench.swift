import Foundation
// why: the benchmark takes the caller's logger for its store.
public import Logging
import SwarmAnalytics
import SwarmCore
import SwarmReports
import SwarmStore
import SwarmStoreSQLite

/// The cost of a swarm report over a long period beside the cost of reading its data, in one
/// run: `tests` × `agents` icmp series of one run a minute for `days` in a fresh SQLite store,
/// rolled up as the retention job does; then the series reads a report makes (the baseline), the
/// whole report (reads, findings, layout) and its drawing, and the peak memory while it is made,
/// for the full period and for a quarter of it (memory must not grow with the period).
public struct ReportBench: Sendable {
    public struct Configuration: Sendable {
        public var tests = 10
        public var agents = 4
        public var days = 30
        public init() {}
    }

    public struct Run: Sendable {
        public var days: Int
        public var readSeconds: Double
        public var buildSeconds: Double
        public var renderSeconds: Double
        public var pages: Int
        public var bytes: Int
        /// Peak resident memory while the report was made, and what the process held before.
        public var peakBytes: Int
        public var beforeBytes: Int
        public var ratio: Double { (buildSeconds + renderSeconds) / readSeconds }
    }

    public struct Result: Sendable {
        public var rows: Int
        public var seedSeconds: Double
        public var runs: [Run]
    }

    public let configuration: Configuration
    public let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run(progress: (String) -> Void) async throws -> Result {
        let c = configuration
        guard c.tests >= 1, c.agents >= 1, c.days >= 4 else {
            throw BenchError(code: .invalidArgument, message: "need --tests ≥ 1, --agents ≥ 1, --days ≥ 4")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swarm-bench-rp-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(configuration: .init(path: "\(directory)/bench.sqlite"), logger: logger)
        let clock = ContinuousClock()
        let began = clock.now
        let now = Timestamp.now()
        let minutes = c.days * 1440
        let agents = try (0..<c.agents).map { i in
            guard let name = AgentName("edge-\(i)") else { throw BenchError(code: .invalidArgument, message: "agent") }
            return name
        }
        progress(
            "== seeding \(c.tests * c.agents) series x \(minutes) runs (one a minute for \(c.days) days) into SQLite"
        )
        var batch: [AgentName: UInt64] = [:]
        var random = SplitMix64(seed: 7)
        for t in 0..<c.tests {
            let test = try await store.createTest(
                TestSpec(name: "ping site \(t)", probes: [.icmp], target: .init(host: "192.0.2.\(t % 250 + 1)")),
                agents: agents
            )
            for agent in agents {
                // A day at a time: bounded batches, as agents send them.
                for day in 0..<c.days {
                    let rows = (0..<1440).map { i -> MeasurementRecord in
                        let minute = day * 1440 + i
                        let hour = Double(minute / 60 % 24)
                        let wave: Double = 4 * sin(hour / 24 * 2 * .pi)
                        let noise: Double = 2 * random.nextUnit()
                        let ms = 20 + wave + noise
                        return MeasurementRecord(
                            testID: test.id,
                            revision: 1,
                            agent: agent,
                            sequence: UInt64(minute + 1),
                            kind: .icmp,
                            startedAt: now - .seconds(60 * (minutes - minute)),
                            duration: .milliseconds(10),
                            status: minute % 500 == 0 ? .failed : .ok,
                            value: minute % 500 == 0 ? nil : ms * 1000,
                            figures: MeasurementFigures(lossPercent: minute % 97 == 0 ? 20 : 0, jitterMicros: 400),
                            payload: Data()
                        )
                    }
                    let id = (batch[agent] ?? 0) + 1
                    batch[agent] = id
                    _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: id, measurements: rows)])
                }
            }
            progress("   \(t + 1) of \(c.tests) tests seeded")
        }
        progress("== rolling up (1-minute and 1-hour rollups, as the retention job does)")
        while try await !store.rollUp(closedBefore: now, maxSpan: .seconds(86_400 * 7)).caughtUp {}
        let seeded = clock.now - began

        var runs: [Run] = []
        for days in [c.days / 4, c.days] {
            progress("== a swarm report over \(days) days")
            let request = ReportRequest(
                scope: .swarm,
                period: TimeRange(from: now - .seconds(86_400 * days), to: now),
                generatedBy: "bench"
            )
            let readSeconds = try await readLikeAReport(request, store: store, now: now)
            ProcessMemory.resetPeak()
            let before = ProcessMemory.residentBytes(pid: getpid())
            let start = clock.now
            let report = try await ReportBuilder.build(request, store: store, now: now)
            let built = clock.now
            let pdf = try ReportRenderer.render(report)
            let drawn = clock.now
            runs.append(
                Run(
                    days: days,
                    readSeconds: readSeconds,
                    buildSeconds: (built - start).seconds,
                    renderSeconds: (drawn - built).seconds,
                    pages: pdf.pages,
                    bytes: pdf.data.count,
                    peakBytes: ProcessMemory.peakBytes(pid: getpid()),
                    beforeBytes: before
                )
            )
        }
        return Result(rows: c.tests * c.agents * minutes, seedSeconds: seeded.seconds, runs: runs)
    }

    /// The series reads a report of `request` makes (per test, its rollups at the report's bucket),
    /// timed on their own: what reading the report's data from the store costs.
    func readLikeAReport(_ request: ReportRequest, store: SQLiteStore, now: Timestamp) async throws -> Double {
        let plan = try await ReportBuilder.plan(request.period, store: store, now: now)
        let clock = ContinuousClock()
        let start = clock.now
        for test in try await store.tests() {
            _ = try await store.series(
                SeriesQuery(
                    test: test.id,
                    range: request.period,
                    bucket: .seconds(plan.fineBucket),
                    resolution: plan.resolution
                )
            )
        }
        return (clock.now - start).seconds
    }
}
