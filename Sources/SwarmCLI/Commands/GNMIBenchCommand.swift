import ArgumentParser
import Crypto
import Foundation
import Logging
import SwarmCore
import SwarmPKI
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmWire
import Synchronization

/// `streamswarm bench gnmi`: one agent collecting from many simulated devices over TLS, end to end.
///
/// `swarm-gnmi-target` runs the devices (each streams `counters` leaves every second); a real agent
/// process collects from all of them and reports through a real mesh server into SQLite. The rate
/// of leaf updates ingested end to end is printed beside the rate the devices offered in the same
/// window (target: no loss), with the agent's CPU and memory.
struct GNMIBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gnmi",
        abstract: "One agent, many simulated gNMI devices: updates ingested/s vs offered/s, agent CPU and memory.",
        discussion: "scripts/bench.sh runs this with a release build (BENCH=gnmi)."
    )

    @Option(help: "Simulated devices.") var devices = 200
    @Option(help: "Interfaces per device.") var interfaces = 5
    @Option(
        name: .customLong("counters-per-interface"),
        help: "Counters per interface (interfaces × this = counters per device)."
    )
    var countersPerInterface = 10
    @Option(help: "Measured window in seconds, after every device reported once.") var seconds = 30
    @Option(name: .customLong("warmup-timeout"), help: "Seconds to wait for every device's first result.")
    var warmupTimeout = 60
    @Option(help: "Seconds to let the pipeline reach steady state after the warm-up, before measuring.")
    var settle = 10

    func run() async throws {
        let binary =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let targetBinary = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent(
            "swarm-gnmi-target"
        ).path
        guard FileManager.default.isExecutableFile(atPath: targetBinary) else {
            throw ValidationError(
                "\(targetBinary) is missing: build it with 'swift build -c release --product swarm-gnmi-target'"
            )
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("swarm-bench-gnmi-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var logger = Logger(label: "bench.gnmi")
        logger.logLevel = .warning
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
        let firstPort = try Self.freePortRange(devices)
        print("== \(devices) simulated devices on 127.0.0.1:\(firstPort)..., \(counters) counters each, every 1 s")
        let target = try Self.spawn(
            targetBinary,
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
        configuration.port = try MeshBenchCommand.freePort()
        configuration.deviceVault = vault
        let mesh = try MeshServer(configuration: configuration, store: store, logger: logger)
        let serverTask = Task { try await mesh.run() }
        defer { serverTask.cancel() }
        let agentProcess = try Self.spawn(
            binary,
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
        let idleRSS = MeshBenchCommand.rssBytes(pid: agentProcess.processIdentifier)

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
        print("== waiting for a first result from every device (up to \(warmupTimeout) s)")
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
        let cpuStart = Self.cpuSeconds(pid: agentProcess.processIdentifier)
        let windowStart = Timestamp.now()
        var peakRSS = 0
        for _ in 0..<seconds {
            try await Task.sleep(for: .seconds(1))
            peakRSS = max(peakRSS, MeshBenchCommand.rssBytes(pid: agentProcess.processIdentifier))
        }
        let windowEnd = Timestamp.now()
        let offeredEnd = try Self.lastStat("\(work)/target.out")
        let storedEnd = try await Self.storedUpdates(tests: tests, store: store)
        let storedEndAt = Timestamp.now()
        let cpuEnd = Self.cpuSeconds(pid: agentProcess.processIdentifier)
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
        print(
            String(
                format: """
                    gnmi: %d devices × %d counters/s, measured over %.1f s
                      offered   %.0f updates/s (sent by the devices)
                      ingested  %.0f updates/s (landed in the store, end to end)  ratio %.3f
                      results   %.0f/s stored, %d failed
                      agent     CPU %.1f%% of one core, peak RSS %.1f MiB (idle before the devices: %.1f MiB)
                      whole run %d updates sent, %d stored: ratio %.4f (target 1.0000: no loss)
                    """,
                devices,
                counters,
                elapsed,
                offered,
                ingestedRate,
                offered > 0 ? ingestedRate / offered : 0,
                Double(results) / elapsed,
                failed,
                cpu,
                Double(peakRSS) / 1_048_576,
                Double(idleRSS) / 1_048_576,
                sentTotal,
                storedTotal,
                sentTotal > 0 ? Double(storedTotal) / Double(sentTotal) : 0
            )
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
        guard let name = AgentName(text) else { throw ValidationError("bad agent name \(text)") }
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
                throw ValidationError("\(name) exited: \(output.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("timed out waiting for '\(text)' in \(file)")
    }

    /// The newest `KEY N [UNIX_NANOS]` line the target printed.
    static func lastStat(_ file: String, key: String = "updates_sent") throws -> (count: Int, at: Timestamp) {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix(key + " ") }) else {
            throw ValidationError("the target printed no '\(key)' statistics")
        }
        let fields = line.split(separator: " ")
        guard fields.count >= 2, let value = Int(fields[1]) else {
            throw ValidationError("bad statistics line: \(line)")
        }
        let at = fields.count >= 3 ? Int64(fields[2]).map(Timestamp.init(unixNanos:)) : nil
        return (value, at ?? .now())
    }

    /// User + system CPU seconds of a process (/proc/PID/stat fields 14 and 15).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A first port with `count` free ports after it.
    static func freePortRange(_ count: Int) throws -> Int {
        for _ in 0..<50 {
            let first = Int.random(in: 20_000..<(30_000 - count))
            if (0..<count).allSatisfy({ portIsFree(first + $0) }) { return first }
        }
        throw ValidationError("could not find \(count) free consecutive loopback ports")
    }

    static func portIsFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
