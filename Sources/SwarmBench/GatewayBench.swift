import Foundation
// why: the benchmark is configured with a Logger.
public import Logging
import SwarmCore
import SwarmGateway
import SwarmProto
import SwarmStore
import SwarmStoreSQLite
import SwiftProtobuf
import Synchronization

/// The results endpoint and the agent list under load, each beside a baseline measured in the same
/// run (needs wrk).
///
/// 1. A 24-hour series at 1-second resolution (86,400 icmp results) is downsampled to 1,000 points by
///    `/api/v1/results/series`; its latency (wrk, one connection) is compared with reading the same
///    rows straight from the store.
/// 2. `/api/v1/agents` (authenticated, a store read per request) under wrk with 32 connections,
///    compared with the same server's static-file rate (`/ui/app.js`).
public struct GatewayBench: Sendable {
    public struct Configuration: Sendable {
        /// Points in the stored series (one per second). Defaults to 86,400.
        public var points: Int = 86_400
        /// Points the endpoint returns. Defaults to 1,000.
        public var downsample: Int = 1000
        /// Seconds per wrk run. Defaults to 10.
        public var seconds: Int = 10
        /// wrk connections for the throughput runs. Defaults to 32.
        public var connections: Int = 32
        /// Agents in the store (the agent list's length). Defaults to 50.
        public var agents: Int = 50
        /// The version the gateway and the seeded agents report.
        public var version: String = ""
        public init() {}
    }

    /// What wrk measured in one run.
    public struct WrkFigures: Sendable {
        public var requestsPerSecond: Double
        public var medianMs: Double
        public var p99Ms: Double
        public var errors: Int
    }

    public struct Report: Sendable {
        /// Rows the store read returned and points the endpoint returned.
        public var rowCount: Int
        public var returned: Int
        public var series: WrkFigures
        public var agentList: WrkFigures
        public var staticFile: WrkFigures
        /// Median of the raw store reads, in milliseconds.
        public var storeMedianMs: Double
        /// Series endpoint median / store read median.
        public var ratio: Double { series.medianMs / storeMedianMs }
    }

    public var configuration: Configuration
    public let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the benchmark; `progress` gets a line for each step.
    /// - Throws: ``BenchError`` `.toolMissing` without /usr/bin/wrk.
    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") else {
            throw BenchError(
                code: .toolMissing,
                message: "wrk is not installed: run scripts/bootstrap.sh (Debian package wrk)"
            )
        }
        let c = configuration
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swarm-bench-gw-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(configuration: .init(path: "\(directory)/bench.sqlite"), logger: logger)

        progress("== seeding \(c.points) icmp results (1 s apart, 24 h) and \(c.agents) agents")
        let (test, agent, range) = try await seed(store)
        try await store.createUser(UserRecord(username: "bench", passwordHash: "!", role: .admin))
        let (_, secret) = try await APITokens.issue(store: store, name: "bench", role: .viewer, owner: "bench")

        // Baseline: the same rows read straight from the store, as the endpoint would without downsampling.
        var storeTimes: [Double] = []
        var rowCount = 0
        for _ in 0..<7 {
            let start = ContinuousClock.now
            rowCount = try await store.measurements(test: test, agent: agent, range: range, limit: c.points + 1).count
            storeTimes.append((ContinuousClock.now - start).seconds * 1000)
        }

        let port = Mutex(0)
        var gatewayConfiguration = Gateway.Configuration(host: "127.0.0.1", port: 0)
        gatewayConfiguration.version = c.version
        let gateway = Gateway(configuration: gatewayConfiguration, store: store, logger: logger) { bound in
            port.withLock { $0 = bound }
        }
        let server = Task { try await gateway.run() }
        defer { server.cancel() }
        while port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let base = "http://127.0.0.1:\(port.withLock { $0 })"
        let auth = "Authorization: Bearer \(secret)"

        let seriesPath =
            "/api/v1/results/series?test=\(test)&agent=\(agent)&from=\(range.from.iso8601)&to=\(range.to.iso8601)&points=\(c.downsample)"
        let check = try run(["/usr/bin/curl", "-s", "-H", auth, base + seriesPath])
        let returned = check.components(separatedBy: "\"t\":").count - 1
        progress("== series endpoint returns \(returned) points for \(rowCount) stored rows")

        progress("== wrk: series endpoint, 1 connection, \(c.seconds) s")
        let series = try wrk(base + seriesPath, header: auth, connections: 1, threads: 1)
        progress("== wrk: /api/v1/agents, \(c.connections) connections, \(c.seconds) s")
        let agentList = try wrk(base + "/api/v1/agents", header: auth, connections: c.connections, threads: 2)
        progress("== wrk: /ui/app.js (static), \(c.connections) connections, \(c.seconds) s")
        let staticFile = try wrk(base + "/ui/app.js", header: nil, connections: c.connections, threads: 2)

        return Report(
            rowCount: rowCount,
            returned: returned,
            series: series,
            agentList: agentList,
            staticFile: staticFile,
            storeMedianMs: storeTimes.sorted()[storeTimes.count / 2]
        )
    }

    private func seed(_ store: SQLiteStore) async throws -> (TestID, AgentName, TimeRange) {
        var names: [AgentName] = []
        for index in 0..<configuration.agents {
            guard let name = AgentName(String(format: "agent-%03d", index)) else { continue }
            names.append(name)
            try await store.recordSessionStart(
                SessionStart(
                    agent: name,
                    sessionID: "bench-\(index)",
                    agentVersion: configuration.version,
                    host: HostFacts(hostname: name.rawValue, osName: "Debian GNU/Linux", cpuCount: 4),
                    at: .now()
                )
            )
        }
        guard let agent = names.first else {
            throw BenchError(code: .invalidArgument, message: "--agents must be at least 1")
        }
        let test = try await store.createTest(
            TestSpec(
                name: "bench icmp",
                probes: [.icmp],
                target: .init(host: "192.0.2.1"),
                schedule: .init(interval: .seconds(1))
            ),
            agents: [agent]
        )
        let end = Timestamp.now()
        let start = end - .seconds(configuration.points)
        var batch: [MeasurementRecord] = []
        var batchID: UInt64 = 0
        for index in 0..<configuration.points {
            let rtt = 10_000 + Double(index % 600)
            var result = Streamswarm_Mesh_V1_IcmpResult()
            result.address = "192.0.2.1"
            result.sent = 5
            result.received = index % 50 == 0 ? 4 : 5
            result.lossPercent = index % 50 == 0 ? 20 : 0
            result.rtt.minUs = rtt - 200
            result.rtt.avgUs = rtt
            result.rtt.maxUs = rtt + 300
            result.rtt.jitterUs = 40
            result.rttsUs = [rtt - 200, rtt, rtt + 300, rtt - 50, rtt + 10]
            batch.append(
                MeasurementRecord(
                    testID: test.id,
                    revision: 1,
                    agent: agent,
                    sequence: UInt64(index + 1),
                    kind: .icmp,
                    startedAt: start + .seconds(index),
                    duration: .milliseconds(4),
                    status: .ok,
                    value: rtt,
                    figures: MeasurementFigures(
                        lossPercent: result.lossPercent,
                        jitterMicros: 40,
                        low: rtt - 200,
                        high: rtt + 300
                    ),
                    payload: try result.serializedData()
                )
            )
            if batch.count == 10_000 || index == configuration.points - 1 {
                batchID += 1
                _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: batchID, measurements: batch)])
                batch.removeAll(keepingCapacity: true)
            }
        }
        return (test.id, agent, TimeRange(from: start, to: end + .seconds(1)))
    }

    private func wrk(_ url: String, header: String?, connections: Int, threads: Int) throws -> WrkFigures {
        var arguments = [
            "/usr/bin/wrk", "-t\(threads)", "-c\(connections)", "-d\(configuration.seconds)s", "--latency",
        ]
        if let header { arguments += ["-H", header] }
        let output = try run(arguments + [url])
        func milliseconds(_ text: String) -> Double {
            let number = Double(text.trimmingCharacters(in: CharacterSet.letters)) ?? 0
            if text.hasSuffix("us") { return number / 1000 }
            if text.hasSuffix("ms") { return number }
            if text.hasSuffix("s") { return number * 1000 }
            return number
        }
        var figures = WrkFigures(requestsPerSecond: 0, medianMs: 0, p99Ms: 0, errors: 0)
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if fields.first == "Requests/sec:", fields.count > 1 { figures.requestsPerSecond = Double(fields[1]) ?? 0 }
            if fields.first == "50%", fields.count > 1 { figures.medianMs = milliseconds(fields[1]) }
            if fields.first == "99%", fields.count > 1 { figures.p99Ms = milliseconds(fields[1]) }
            if line.contains("Non-2xx or 3xx responses:") { figures.errors += Int(fields.last ?? "") ?? 0 }
            if line.contains("Socket errors:") { figures.errors += line.filter(\.isNumber).isEmpty ? 0 : 1 }
        }
        return figures
    }

    private func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
