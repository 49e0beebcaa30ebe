import Foundation
// why: the benchmark is configured with a Logger.
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SwarmCore
import SwarmPKI
import SwarmStore
import SwarmStoreSQLite
import SwarmWire

/// N simulated agents over real mutual-TLS connections against a real server process (`streamswarm
/// server`), measuring ingest against a plain batched SQLite insert of the same rows in the same run.
public struct MeshBench: Sendable {
    public struct Configuration: Sendable {
        /// Simulated agents, one mTLS connection each. Defaults to 1,000.
        public var agents: Int = 1000
        /// Measurements offered per second, all agents together. Defaults to 60,000.
        public var measurementsPerSecond: Int = 60_000
        /// Length of the load phase in seconds. Defaults to 10.
        public var seconds: Int = 10
        /// Heartbeat interval of the server and the simulated agents. Defaults to 2 s.
        public var heartbeatInterval: Duration = .seconds(2)
        /// The `streamswarm` binary whose `server` command is measured.
        public var serverExecutable: String

        public init(serverExecutable: String) { self.serverExecutable = serverExecutable }
    }

    public struct Report: Sendable {
        public var connected: Int
        public var stored: Int
        public var offered: Int
        public var storedPerSecond: Double
        /// The plain SQLite insert of the same rows, in rows per second.
        public var baselineRowsPerSecond: Double
        /// Batch-ack and heartbeat round trips, in seconds.
        public var ackP50: Double
        public var ackP99: Double
        public var heartbeatP99: Double
        public var heartbeats: Int
        /// Server resident memory at start, with every agent connected and idle, and at the end.
        public var startRSSBytes: Int
        public var idleRSSBytes: Int
        public var endRSSBytes: Int
        /// (idle - start) / connected agents.
        public var rssBytesPerConnection: Double
    }

    public var configuration: Configuration
    public let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the benchmark; `progress` gets a line for each step.
    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        let agents = configuration.agents
        let seconds = configuration.seconds
        let measurementsPerSecond = configuration.measurementsPerSecond
        let heartbeat = configuration.heartbeatInterval
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("streamswarm-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let perAgent = measurementsPerSecond / max(1, agents)

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

        let port = try Loopback.freePort()
        progress("starting the server process on 127.0.0.1:\(port)")
        let server = try startServer(work: work, database: database, port: port)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        try await Loopback.waitUntilListening(port: port, process: server)
        try await Task.sleep(for: .milliseconds(500))
        let rssStart = ProcessMemory.residentBytes(pid: server.processIdentifier)

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
        let start = Gate<Void>()
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
            let rssIdle = ProcessMemory.residentBytes(pid: server.processIdentifier)
            recorder.setIdle(rss: rssIdle, connected: connected.withLock { $0 })
            progress(
                "\(connected.withLock { $0 }) agents connected; server RSS \(rssIdle / 1024) KiB; load phase \(seconds) s"
            )
            start.open()
            for await _ in tasks {}
        }
        _ = result
        let rssEnd = ProcessMemory.residentBytes(pid: server.processIdentifier)
        try? await group.shutdownGracefully()

        progress("baseline: plain batched SQLite insert of the same rows")
        let baseline = try SQLiteIngestBaseline(path: "\(work)/baseline.sqlite").insertRate(
            of: try Self.records(batches: batches, agents: agentCertificates.map(\.0)),
            agents: agentCertificates.map(\.0),
            logger: Logger(label: "bench.baseline")
        )

        let recorded = recorder.report()
        let perConnection =
            recorded.connected > 0 ? Double(recorded.idleRSS - rssStart) / Double(recorded.connected) : 0
        return Report(
            connected: recorded.connected,
            stored: recorded.stored,
            offered: measurementsPerSecond * seconds,
            storedPerSecond: recorded.storedPerSecond,
            baselineRowsPerSecond: baseline,
            ackP50: recorded.ackP50,
            ackP99: recorded.ackP99,
            heartbeatP99: recorded.heartbeatP99,
            heartbeats: recorded.heartbeats,
            startRSSBytes: rssStart,
            idleRSSBytes: recorded.idleRSS,
            endRSSBytes: rssEnd,
            rssBytesPerConnection: perConnection
        )
    }

    /// What every simulated agent sends: a connected tcp result with tcp_info.
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

    private func startServer(work: String, database: String, port: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: configuration.serverExecutable)
        process.arguments = [
            "server", "--db", database, "--listen", "127.0.0.1:\(port)", "--ca", "\(work)/ca.pem", "--cert",
            "\(work)/server.pem",
            "--key", "\(work)/server.key", "--revoked", "", "--heartbeat-interval",
            "\(configuration.heartbeatInterval.milliseconds)ms",
            "--log-level", "warning",
        ]
        try process.run()
        return process
    }

    /// The rows the simulated agents sent, decoded back from their frames (agent n sent batches[n]).
    static func records(batches: [[Data]], agents: [AgentName]) throws -> [MeasurementRecord] {
        var records: [MeasurementRecord] = []
        for (agentIndex, frames) in batches.enumerated() where agentIndex < agents.count {
            for frame in frames {
                guard case .resultBatch(let batch) = try MeshCodec.decode(MeshFrame(payload: ByteBuffer(bytes: frame)))
                else { continue }
                records += batch.measurements.map { $0.record(agent: agents[agentIndex]) }
            }
        }
        return records
    }
}
