import Crypto
import Foundation
// why: the benchmark is configured with a Logger.
public import Logging
import SwarmCore
import SwarmPKI
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmWire

/// One agent collecting from many simulated devices over TLS, end to end.
///
/// `swarm-gnmi-target` runs the devices (each streams `counters` leaves every second); a real agent
/// process collects from all of them and reports through a real mesh server (in this process) into
/// SQLite. The rate of leaf updates ingested end to end is reported beside the rate the devices
/// offered in the same window (target: no loss), with the agent's CPU and memory.
public struct GNMIBench: Sendable {
    public struct Configuration: Sendable {
        /// Simulated devices. Defaults to 200.
        public var devices = 200
        /// Interfaces per device. Defaults to 5.
        public var interfaces = 5
        /// Counters per interface (interfaces × this = counters per device). Defaults to 10.
        public var countersPerInterface = 10
        /// Measured window in seconds, after every device reported once. Defaults to 30.
        public var seconds = 30
        /// Seconds to wait for every device's first result. Defaults to 60.
        public var warmupTimeout = 60
        /// Seconds to let the pipeline reach steady state after the warm-up. Defaults to 10.
        public var settle = 10
        /// The `streamswarm` binary whose `agent` command collects.
        public var agentExecutable: String
        /// The `swarm-gnmi-target` binary that runs the devices.
        public var targetExecutable: String

        public init(agentExecutable: String, targetExecutable: String) {
            self.agentExecutable = agentExecutable
            self.targetExecutable = targetExecutable
        }
    }

    public struct Report: Sendable {
        public var devices: Int
        /// Counters per device.
        public var counters: Int
        /// The measured window, in seconds.
        public var elapsedSeconds: Double
        /// Leaf updates per second the devices sent, and that landed in the store.
        public var offeredPerSecond: Double
        public var ingestedPerSecond: Double
        /// Results stored in the window, and how many of them failed.
        public var results: Int
        public var failed: Int
        /// The agent's CPU over the window, in percent of one core.
        public var agentCPUPercent: Double
        public var agentPeakRSSBytes: Int
        /// The agent connected and idle, before any device.
        public var agentIdleRSSBytes: Int
        /// Over the whole run: every update the devices sent, and every one stored.
        public var sentTotal: Int
        public var storedTotal: Int
    }

    public var configuration: Configuration
    public let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the benchmark; `progress` gets a line for each step.
    /// - Throws: ``BenchError`` `.toolMissing` when the target binary is not built.
    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        let c = configuration
        let (devices, interfaces, countersPerInterface) = (c.devices, c.interfaces, c.countersPerInterface)
        let (seconds, warmupTimeout, settle) = (c.seconds, c.warmupTimeout, c.settle)
        guard FileManager.default.isExecutableFile(atPath: c.targetExecutable) else {
            throw BenchError(
                code: .toolMissing,
                message:
                    "\(c.targetExecutable) is missing: build it with 'swift build -c release --product swarm-gnmi-target'"
            )
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("swarm-bench-gnmi-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let counters = interfaces * countersPerInterface

        // Certificates: one CA for the mesh and the devices.
        let ca = try CertificateAuthority(commonName: "bench CA")
        let server = try ca.issueServer()
        let agent = try ca.issueAgent("bench")
        let device = try ca.issueServer(
            commonName: "bench-device",
            dnsNames: ["device.bench"],
            ipAddresses: ["127.0.0.1"]
        )
        let files = [
            "ca.pem": ca.certificatePEM, "agent.pem": agent.certificatePEM, "agent.key": agent.privateKeyPEM,
            "device.pem": device.certificatePEM, "device.key": device.privateKeyPEM, "password": "bench-password\n",
        ]
        for (name, text) in files {
            try text.write(toFile: "\(work)/\(name)", atomically: true, encoding: .utf8)
            // Keys readable by others are refused at start-up.
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(work)/\(name)")
        }

        // The devices.
        let firstPort = try Loopback.freePortRange(devices)
        progress("== \(devices) simulated devices on 127.0.0.1:\(firstPort)..., \(counters) counters each, every 1 s")
        let target = try Self.spawn(
            c.targetExecutable,
            [
                "--port", "\(firstPort)", "--count", "\(devices)", "--cert", "\(work)/device.pem", "--key",
                "\(work)/device.key", "--username", "bench", "--password-file", "\(work)/password", "--interfaces",
                "\(interfaces)", "--counters-per-interface", "\(countersPerInterface)", "--stats-interval", "1",
            ],
            output: "\(work)/target.out"
        )
        defer { target.terminate() }
        try await Self.waitFor("listening:", in: "\(work)/target.out", process: target)

        // Server in this process; the agent in its own, so its CPU and memory are its own.
        let store = try SQLiteStore(configuration: .init(path: "\(work)/bench.sqlite"), logger: logger)
        let vault = try DeviceVault(keyBytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        var configuration = MeshServer.Configuration(
            tls: MeshTLSMaterial(
                certificate: .pem(server.certificatePEM),
                privateKey: .pem(server.privateKeyPEM),
                trustRoots: .pem(ca.certificatePEM)
            )
        )
        configuration.host = "127.0.0.1"
        configuration.port = try Loopback.freePort()
        configuration.deviceVault = vault
        let mesh = try MeshServer(configuration: configuration, store: store, logger: logger)
        let serverTask = Task { try await mesh.run() }
        defer { serverTask.cancel() }
        let agentProcess = try Self.spawn(
            c.agentExecutable,
            [
                "agent", "--server", "127.0.0.1:\(configuration.port)", "--server-name", "localhost", "--ca",
                "\(work)/ca.pem", "--cert", "\(work)/agent.pem", "--key", "\(work)/agent.key", "--spool",
                "\(work)/spool.sqlite", "--responder-udp-port", "0", "--responder-bandwidth-port", "0", "--log-level",
                "warning",
            ],
            output: "\(work)/agent.out"
        )
        defer { agentProcess.terminate() }

        // Baseline: the same agent process connected and idle, before any device.
        let connectDeadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < connectDeadline, try await !store.agents().contains(where: \.online) {
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Task.sleep(for: .seconds(2))
        let idleRSS = ProcessMemory.residentBytes(pid: agentProcess.processIdentifier)

        var deviceRecords: [DeviceRecord] = []
        for n in 0..<devices {
            deviceRecords.append(
                try await store.createDevice(
                    DeviceRecord(
                        name: "sim\(n)",
                        address: "127.0.0.1",
                        port: firstPort + n,
                        auth: .password,
                        username: "bench",
                        sealedSecrets: try vault.seal(DeviceSecrets(password: "bench-password"), for: "sim\(n)"),
                        caCertificatePEM: ca.certificatePEM,
                        subscriptions: [
                            GNMISubscription(path: "/interfaces/interface/state/counters", sampleInterval: .seconds(1))
                        ],
                        reportInterval: .seconds(1),
                        agents: [try Self.name("bench")]
                    )
                )
            )
        }
        let tests = deviceRecords.compactMap(\.testID)
        progress("== waiting for a first result from every device (up to \(warmupTimeout) s)")
        let warmupDeadline = ContinuousClock.now + .seconds(warmupTimeout)
        while ContinuousClock.now < warmupDeadline {
            let since = Timestamp.now() - .seconds(5)
            let reporting = try await store.latestMeasurements(tests: tests, since: since).filter { $0.status == .ok }
            if Set(reporting.map(\.testID)).count == devices { break }
            try await Task.sleep(for: .seconds(1))
        }

        // Connecting 200 devices leaves a backlog in flight; measure the steady state, not its drain.
        try await Task.sleep(for: .seconds(settle))

        // The measured window: updates that landed in the store in it, beside updates the devices sent.
        let storedStart = try await Self.storedUpdates(tests: tests, store: store)
        let storedStartAt = Timestamp.now()
        let offeredStart = try Self.lastStat("\(work)/target.out")
        let cpuStart = ProcessCPU.seconds(pid: agentProcess.processIdentifier)
        let windowStart = Timestamp.now()
        var peakRSS = 0
        for _ in 0..<seconds {
            try await Task.sleep(for: .seconds(1))
            peakRSS = max(peakRSS, ProcessMemory.residentBytes(pid: agentProcess.processIdentifier))
        }
        let windowEnd = Timestamp.now()
        let offeredEnd = try Self.lastStat("\(work)/target.out")
        let storedEnd = try await Self.storedUpdates(tests: tests, store: store)
        let storedEndAt = Timestamp.now()
        let cpuEnd = ProcessCPU.seconds(pid: agentProcess.processIdentifier)
        let elapsed = (windowEnd - windowStart).seconds
        var failed = 0
        var results = 0
        for test in tests {
            let rows = try await store.measurements(
                test: test,
                agent: nil,
                range: TimeRange(from: windowStart, to: windowEnd),
                limit: 100_000
            )
            for row in rows {
                results += 1
                if row.status != .ok { failed += 1 }
            }
        }
        let offered = Double(offeredEnd.count - offeredStart.count) / (offeredEnd.at - offeredStart.at).seconds
        let ingestedRate = Double(storedEnd - storedStart) / (storedEndAt - storedStartAt).seconds
        let cpu = (cpuEnd - cpuStart) / elapsed * 100

        // Loss check over the whole run: stop the devices (they print every update they ever sent),
        // let the agent report what it still holds, and compare with every update stored.
        target.terminate()
        try await Self.waitFor("updates_sent_total", in: "\(work)/target.out", process: nil)
        let sentTotal = try Self.lastStat("\(work)/target.out", key: "updates_sent_total").count
        var storedTotal = 0
        var stableSince = ContinuousClock.now
        let settleDeadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < settleDeadline {
            let total = try await Self.storedUpdates(tests: tests, store: store)
            if total != storedTotal {
                storedTotal = total
                stableSince = .now
            } else if ContinuousClock.now - stableSince > .seconds(3) {
                break
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return Report(
            devices: devices,
            counters: counters,
            elapsedSeconds: elapsed,
            offeredPerSecond: offered,
            ingestedPerSecond: ingestedRate,
            results: results,
            failed: failed,
            agentCPUPercent: cpu,
            agentPeakRSSBytes: peakRSS,
            agentIdleRSSBytes: idleRSS,
            sentTotal: sentTotal,
            storedTotal: storedTotal
        )
    }

    static func storedUpdates(tests: [TestID], store: SQLiteStore) async throws -> Int {
        var total = 0
        for test in tests {
            for row in try await store.measurements(test: test, agent: nil, range: .all, limit: 1_000_000) {
                if let snapshot = try? MeasurementEncoding.decodeGNMI(row.payload) { total += snapshot.updates }
            }
        }
        return total
    }

    static func name(_ text: String) throws -> AgentName {
        guard let name = AgentName(text) else {
            throw BenchError(code: .invalidArgument, message: "bad agent name \(text)")
        }
        return name
    }

    static func spawn(_ executable: String, _ arguments: [String], output: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    static func waitFor(_ text: String, in file: String, process: Process?) async throws {
        for _ in 0..<300 {
            if let output = try? String(contentsOfFile: file, encoding: .utf8), output.contains(text) { return }
            if let process, !process.isRunning {
                let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                let name = process.executableURL?.lastPathComponent ?? "process"
                throw BenchError(code: .processFailed, message: "\(name) exited: \(output.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError(code: .timedOut, message: "timed out waiting for '\(text)' in \(file)")
    }

    /// The newest `KEY N [UNIX_NANOS]` line the target printed.
    static func lastStat(_ file: String, key: String = "updates_sent") throws -> (count: Int, at: Timestamp) {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix(key + " ") }) else {
            throw BenchError(code: .badOutput, message: "the target printed no '\(key)' statistics")
        }
        let fields = line.split(separator: " ")
        guard fields.count >= 2, let value = Int(fields[1]) else {
            throw BenchError(code: .badOutput, message: "bad statistics line: \(line)")
        }
        let at = fields.count >= 3 ? Int64(fields[2]).map(Timestamp.init(unixNanos:)) : nil
        return (value, at ?? .now())
    }
}
