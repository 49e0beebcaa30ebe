import ArgumentParser
import Foundation
import GRDB
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SwarmCore
import SwarmPKI
import SwarmStore
import SwarmStoreSQLite
import SwarmWire
import Synchronization

/// `streamswarm bench mesh`: N simulated agents over real mutual-TLS connections against a real
/// server process, reporting ingest against a plain batched SQLite insert of the same rows measured
/// in the same run.
struct MeshBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Simulated agents over real mTLS against a real server process; ingest vs. plain SQLite insert."
    )

    @Option(help: "Simulated agents (one mTLS connection each).") var agents: Int = 1000
    @Option(name: .customLong("measurements-per-second"), help: "Measurements offered per second, all agents together.")
    var measurementsPerSecond: Int = 60_000
    @Option(help: "Length of the load phase.") var seconds: Int = 10
    @Option(name: .customLong("heartbeat-interval"), help: "Heartbeat interval of server and simulated agents.")
    var heartbeatInterval: String = "2s"
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard agents >= 1, agents <= 20_000 else { throw ValidationError("--agents must be 1...20000") }
        guard measurementsPerSecond >= agents else {
            throw ValidationError("--measurements-per-second must be at least --agents")
        }
        guard (1...600).contains(seconds) else { throw ValidationError("--seconds must be 1...600") }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "streamswarm.bench")
        let heartbeat = try parseDuration(heartbeatInterval, option: "--heartbeat-interval")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("streamswarm-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let perAgent = measurementsPerSecond / agents

        progress("issuing a CA, a server certificate and \(agents) agent certificates")
        let ca = try CertificateAuthority(commonName: "bench CA")
        let serverCertificate = try ca.issueServer()
        var agentCertificates: [(AgentName, CertificateAuthority.Issued)] = []
        for index in 0..<agents {
            guard let name = AgentName("bench-\(index)") else { continue }
            agentCertificates.append((name, try ca.issueAgent(name.rawValue)))
        }
        for (file, text) in [
            ("ca.pem", ca.certificatePEM), ("server.pem", serverCertificate.certificatePEM),
            ("server.key", serverCertificate.privateKeyPEM),
        ] {
            try text.write(toFile: "\(work)/\(file)", atomically: true, encoding: .utf8)
            // Keys readable by others are refused at start-up.
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(work)/\(file)")
        }

        progress("creating the database and one test assigned to every simulated agent")
        let database = "\(work)/bench.sqlite"
        let testID: TestID
        do {
            let store = try SQLiteStore(configuration: .init(path: database), logger: logger)
            let test = try await store.createTest(
                TestSpec(name: "bench", probes: [.tcp], target: .init(host: "127.0.0.1", port: 9)),
                agents: agentCertificates.map(\.0)
            )
            testID = test.id
        }

        let port = try Self.freePort()
        progress("starting the server process on 127.0.0.1:\(port)")
        let server = try Self.startServer(work: work, database: database, port: port, heartbeat: heartbeat)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        try await Self.waitUntilListening(port: port, process: server)
        try await Task.sleep(for: .milliseconds(500))
        let rssStart = Self.rssBytes(pid: server.processIdentifier)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let tlsConfigurations = try agentCertificates.map { _, issued in
            try MeshTLS.makeAgentConfiguration(
                MeshTLSMaterial(
                    certificate: .pem(issued.certificatePEM),
                    privateKey: .pem(issued.privateKeyPEM),
                    trustRoots: .pem(ca.certificatePEM)
                )
            )
        }
        progress("pre-encoding \(measurementsPerSecond * seconds) measurements (\(perAgent) per agent per second)")
        let payload = Self.sampleResult()
        let recorder = Recorder()
        let start = StartGate()
        var batches: [[Data]] = []
        var nextSequence: UInt64 = 1
        let base = Timestamp.now()
        for agent in 0..<agents {
            var frames: [Data] = []
            for second in 0..<seconds {
                var measurements: [Data] = []
                for item in 0..<perAgent {
                    let observation = ProbeObservation(
                        testID: testID,
                        revision: 1,
                        kind: .tcp,
                        startedAt: base + .milliseconds(Int64(second * 1000 + item)),
                        duration: .milliseconds(1),
                        status: .ok,
                        result: .tcp(payload)
                    )
                    measurements.append(try MeasurementEncoding.encode(observation, sequence: nextSequence))
                    nextSequence += 1
                }
                let frame = try MeshCodec.encodeResultBatch(
                    batchID: UInt64(agent * seconds + second + 1),
                    encodedMeasurements: measurements,
                    createdAt: .now()
                )
                frames.append(Data(frame.payload.readableBytesView))
            }
            batches.append(frames)
        }

        progress("connecting \(agents) simulated agents over mutual TLS")
        let connected = Locked(0)
        let result: Void = await withTaskGroup(of: Void.self) { tasks in
            for index in 0..<agents {
                let context: NIOSSLContext
                do { context = try NIOSSLContext(configuration: tlsConfigurations[index]) } catch { continue }
                let frames = batches[index]
                tasks.addTask {
                    await SimulatedAgent(
                        port: port,
                        context: context,
                        group: group,
                        frames: frames,
                        heartbeat: heartbeat,
                        recorder: recorder,
                        start: start,
                        onConnected: { connected.withLock { $0 += 1 } }
                    ).run()
                }
                if index % 50 == 49 { try? await Task.sleep(for: .milliseconds(20)) }
            }
            // Wait for the connections, measure idle memory, then open the gate.
            let deadline = ContinuousClock.now + .seconds(120)
            while connected.withLock({ $0 }) < agents, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(200))
            }
            try? await Task.sleep(for: .seconds(2))
            let rssIdle = Self.rssBytes(pid: server.processIdentifier)
            recorder.setIdle(rss: rssIdle, connected: connected.withLock { $0 })
            progress(
                "\(connected.withLock { $0 }) agents connected; server RSS \(rssIdle / 1024) KiB; load phase \(seconds) s"
            )
            start.open()
            for await _ in tasks {}
        }
        _ = result
        let rssEnd = Self.rssBytes(pid: server.processIdentifier)
        try? await group.shutdownGracefully()

        progress("baseline: plain batched SQLite insert of the same rows")
        let baseline = try Self.plainInsertRate(
            work: work,
            batches: batches,
            agents: agentCertificates.map(\.0),
            testID: testID
        )

        let report = recorder.report(offered: measurementsPerSecond * seconds)
        let perConnection =
            report.connected > 0 ? Double(Int(report.idleRSS) - Int(rssStart)) / Double(report.connected) : 0
        print(
            """

            bench mesh: \(agents) agents, \(measurementsPerSecond) measurements/s offered for \(seconds) s, heartbeat \(heartbeat)
              agents connected            \(report.connected)
              measurements stored         \(report.stored) of \(measurementsPerSecond * seconds) offered
              stored per second           \(Int(report.storedPerSecond))
              plain SQLite insert ceiling \(Int(baseline)) rows/s (same rows, same schema, 10,000 rows per transaction)
              ingest / ceiling            \(String(format: "%.2f", report.storedPerSecond / baseline))
              batch-ack latency p50/p99   \(Self.ms(report.ackP50)) / \(Self.ms(report.ackP99)) ms
              heartbeat round trip p99    \(Self.ms(report.heartbeatP99)) ms (\(report.heartbeats) heartbeats)
              server RSS start/idle/end   \(rssStart / 1024) / \(report.idleRSS / 1024) / \(rssEnd / 1024) KiB
              server RSS per idle conn.   \(String(format: "%.1f", perConnection / 1024)) KiB
            """
        )
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
    }

    static func ms(_ value: Double) -> String { String(format: "%.2f", value * 1000) }

    static func sampleResult() -> TCPProbeResult {
        var info = TCPInfo()
        info.rttMicros = 48
        info.rttvarMicros = 24
        info.minRttMicros = 31
        info.sndCwnd = 10
        info.sndSsthresh = 2_147_483_647
        info.sndMss = 32_768
        info.advmss = 65_483
        info.pmtu = 65_535
        info.deliveryRateBytesPerSecond = 1_250_000_000
        info.sndWscale = 7
        info.rcvWscale = 7
        info.state = 1
        return TCPProbeResult(
            address: "127.0.0.1",
            port: 9,
            outcome: .connected,
            connectTime: .microseconds(52),
            info: info,
            congestionControl: "cubic"
        )
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw ValidationError("could not find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func startServer(work: String, database: String, port: Int, heartbeat: Duration) throws -> Process {
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
        )
        process.arguments = [
            "server", "--db", database, "--listen", "127.0.0.1:\(port)", "--ca", "\(work)/ca.pem", "--cert",
            "\(work)/server.pem",
            "--key", "\(work)/server.key", "--revoked", "", "--heartbeat-interval", "\(heartbeat.milliseconds)ms",
            "--log-level", "warning",
        ]
        try process.run()
        return process
    }

    static func waitUntilListening(port: Int, process: Process) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw ValidationError("the server process exited early (status \(process.terminationStatus))")
            }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd)
            if ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the server did not start listening within 30 s")
    }

    static func rssBytes(pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
        return kib * 1024
    }

    /// Inserts the same rows straight into a fresh database of the same schema, 10,000 per
    /// transaction: the ceiling the network path is compared against.
    static func plainInsertRate(work: String, batches: [[Data]], agents: [AgentName], testID: TestID) throws -> Double {
        let path = "\(work)/baseline.sqlite"
        do {
            // Create the schema (and the test and agents, for the foreign keys) through the store.
            let store = try SQLiteStore(configuration: .init(path: path), logger: Logger(label: "bench.baseline"))
            _ = store
        }
        var rows: [(Int64, Int, Int64, Int64, Data)] = []
        for (agentIndex, frames) in batches.enumerated() {
            for frame in frames {
                guard case .resultBatch(let batch) = try MeshCodec.decode(MeshFrame(payload: ByteBuffer(bytes: frame)))
                else { continue }
                for m in batch.measurements {
                    rows.append(
                        (
                            m.startedAt.unixNanos, agentIndex + 1, Int64(bitPattern: m.sequence),
                            m.duration.nanoseconds, m.payload
                        )
                    )
                }
            }
        }
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        try pool.write { db in
            try db.execute(
                sql:
                    "INSERT INTO tests (id, name, state, revision, created_at, updated_at) VALUES (?, 'bench', 'active', 1, 0, 0)",
                arguments: [testID.rawValue]
            )
            for (index, agent) in agents.enumerated() {
                try db.execute(
                    sql: "INSERT INTO agents (id, name) VALUES (?, ?)",
                    arguments: [index + 1, agent.rawValue]
                )
            }
        }
        let clock = ContinuousClock()
        let began = clock.now
        var index = 0
        while index < rows.count {
            let end = min(rows.count, index + 10_000)
            let slice = rows[index..<end]
            try pool.write { db in
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT INTO measurements (test_id, agent_id, ts, seq, revision, kind, status, duration_ns, value, reason, payload)
                        VALUES (?, ?, ?, ?, 1, 'tcp', 'ok', ?, ?, '', ?)
                        """
                )
                for row in slice {
                    try statement.execute(arguments: [testID.rawValue, row.1, row.0, row.2, row.3, 52.0, row.4])
                }
            }
            index = end
        }
        let elapsed = (clock.now - began).seconds
        return Double(rows.count) / max(elapsed, 1e-9)
    }
}

/// Opens once, for every simulated agent at the same moment.
final class StartGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}

/// Latencies and counts from every simulated agent.
final class Recorder: Sendable {
    struct Report {
        var connected = 0
        var stored = 0
        var storedPerSecond = 0.0
        var ackP50 = 0.0
        var ackP99 = 0.0
        var heartbeatP99 = 0.0
        var heartbeats = 0
        var idleRSS = 0
    }
    private struct State {
        var ackLatencies: [Double] = []
        var heartbeatLatencies: [Double] = []
        var stored = 0
        var firstSend: ContinuousClock.Instant?
        var lastAck: ContinuousClock.Instant?
        var idleRSS = 0
        var connected = 0
    }
    private let state = Mutex(State())

    func sent(at instant: ContinuousClock.Instant) {
        state.withLock { state in
            if state.firstSend == nil || instant < state.firstSend.unsafelyUnwrapped { state.firstSend = instant }
        }
    }
    func acked(stored: Int, latency: Duration, at instant: ContinuousClock.Instant) {
        state.withLock { state in
            state.ackLatencies.append(latency.seconds)
            state.stored += stored
            if state.lastAck == nil || instant > state.lastAck.unsafelyUnwrapped { state.lastAck = instant }
        }
    }
    func heartbeat(_ latency: Duration) { state.withLock { $0.heartbeatLatencies.append(latency.seconds) } }
    func setIdle(rss: Int, connected: Int) {
        state.withLock {
            $0.idleRSS = rss
            $0.connected = connected
        }
    }

    func report(offered: Int) -> Report {
        state.withLock { state in
            func percentile(_ values: [Double], _ p: Double) -> Double {
                guard !values.isEmpty else { return 0 }
                let sorted = values.sorted()
                return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
            }
            var report = Report()
            report.connected = state.connected
            report.stored = state.stored
            if let first = state.firstSend, let last = state.lastAck {
                report.storedPerSecond = Double(state.stored) / max((last - first).seconds, 1e-9)
            }
            report.ackP50 = percentile(state.ackLatencies, 0.5)
            report.ackP99 = percentile(state.ackLatencies, 0.99)
            report.heartbeatP99 = percentile(state.heartbeatLatencies, 0.99)
            report.heartbeats = state.heartbeatLatencies.count
            report.idleRSS = state.idleRSS
            return report
        }
    }
}

/// One simulated agent: a real mTLS mesh session that sends pre-encoded batches once a second.
struct SimulatedAgent {
    let port: Int
    let context: NIOSSLContext
    let group: any EventLoopGroup
    let frames: [Data]
    let heartbeat: Duration
    let recorder: Recorder
    let start: StartGate
    let onConnected: @Sendable () -> Void

    func run() async {
        do {
            let context = self.context
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(30))
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: "localhost"))
                        try sync.addHandler(ByteToMessageHandler(MeshFrameDecoder()))
                        try sync.addHandler(MessageToByteHandler(MeshFrameEncoder()))
                        return try NIOAsyncChannel<MeshFrame, MeshFrame>(wrappingChannelSynchronously: channel)
                    }
                }
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(
                    MeshCodec.encode(
                        .hello(
                            Mesh.Hello(agentVersion: "bench", host: HostFacts(hostname: "bench"), capabilities: [.tcp])
                        )
                    )
                )
                var iterator = inbound.makeAsyncIterator()
                guard let first = try await iterator.next(), case .welcome = try MeshCodec.decode(first) else { return }
                onConnected()
                let sentAt = Locked<[UInt64: ContinuousClock.Instant]>([:])
                let heartbeats = Locked<[UInt64: ContinuousClock.Instant]>([:])
                let total = frames.count
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        await start.wait()
                        var sequence: UInt64 = 0
                        var nextHeartbeat = ContinuousClock.now
                        let begin = ContinuousClock.now + .milliseconds(Int64.random(in: 0..<1000))
                        for (index, frame) in frames.enumerated() {
                            try await Task.sleep(until: begin + .seconds(index), clock: .continuous)
                            let now = ContinuousClock.now
                            sentAt.withLock { $0[UInt64(index)] = now }
                            recorder.sent(at: now)
                            try await outbound.write(MeshFrame(payload: ByteBuffer(bytes: frame)))
                            if now >= nextHeartbeat {
                                sequence += 1
                                let seq = sequence
                                heartbeats.withLock { $0[seq] = .now }
                                try await outbound.write(
                                    MeshCodec.encode(
                                        .heartbeat(Mesh.Heartbeat(sequence: seq, sentAt: .now(), load: LoadSnapshot()))
                                    )
                                )
                                nextHeartbeat = now + heartbeat
                            }
                        }
                    }
                    var acked = 0
                    while acked < total, let frame = try await iterator.next() {
                        switch try MeshCodec.decode(frame) {
                        case .batchAck(let ack):
                            let now = ContinuousClock.now
                            let index = (ack.batchID - 1) % UInt64(max(total, 1))
                            if let sent = sentAt.withLock({ $0.removeValue(forKey: index) }) {
                                recorder.acked(stored: ack.storedCount, latency: now - sent, at: now)
                            }
                            acked += 1
                        case .heartbeatAck(let ack):
                            if let sent = heartbeats.withLock({ $0.removeValue(forKey: ack.sequence) }) {
                                recorder.heartbeat(ContinuousClock.now - sent)
                            }
                        default:
                            break
                        }
                    }
                    try await tasks.waitForAll()
                }
                try await outbound.write(
                    MeshCodec.encode(.goodbye(Mesh.Goodbye(reason: .shutdown, message: "bench done")))
                )
            }
        } catch {
            FileHandle.standardError.write(Data("bench: simulated agent failed: \(error)\n".utf8))
        }
    }
}

/// A lock-protected value that child tasks can share by reference.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
