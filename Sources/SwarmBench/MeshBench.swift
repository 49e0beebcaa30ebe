import Foundation
// why: the benchmark is configured with a Logger.
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SwarmCore
import SwarmPKI
import SwarmStore
import SwarmStorePostgres
import SwarmStoreSQLite
import SwarmWire

/// N simulated agents over real mutual-TLS connections against real server processes (`streamswarm
/// server`), measuring ingest against a plain insert of the same rows in the same run: a batched
/// SQLite insert, or on PostgreSQL a COPY into the same database, then the same load spread over
/// two servers on one database.
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
        /// A PostgreSQL server (its user needs CREATEDB) to run on instead of SQLite: each phase
        /// gets a scratch database of its own, dropped afterwards. Defaults to nil (SQLite).
        public var postgresAdminURL: String?

        public init(serverExecutable: String) { self.serverExecutable = serverExecutable }
    }

    /// One load phase: the simulated agents spread over `servers` server processes on one database.
    public struct Phase: Sendable {
        public var servers: Int
        public var connected: Int
        public var stored: Int
        public var offered: Int
        public var storedPerSecond: Double
        /// Batch-ack and heartbeat round trips, in seconds.
        public var ackP50: Double
        public var ackP99: Double
        public var heartbeatP99: Double
        public var heartbeats: Int
        /// Server resident memory (all servers together) at start, with every agent connected and
        /// idle, and at the end.
        public var startRSSBytes: Int
        public var idleRSSBytes: Int
        public var endRSSBytes: Int
        /// (idle - start) / connected agents.
        public var rssBytesPerConnection: Double
    }

    public struct Report: Sendable {
        /// One server.
        public var phase: Phase
        /// The plain insert of the same rows (SQLite batched insert, or PostgreSQL COPY), rows per second.
        public var baselineRowsPerSecond: Double
        /// On PostgreSQL: the same load over two servers on one database.
        public var twoServers: Phase?
    }

    public var configuration: Configuration
    public let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// What every phase shares: the work directory, the certificates, the agents' names and TLS.
    struct Setup {
        var work: String
        var names: [AgentName]
        var tls: [TLSConfiguration]
    }

    /// Where a phase stores: the `--db` its servers get, and a handle to create the test with.
    struct Database {
        var url: String
        var store: any Store
    }

    /// Runs the benchmark; `progress` gets a line for each step.
    public func run(progress: @Sendable (String) -> Void) async throws -> Report {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("streamswarm-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let setup = try makeSetup(work: work, progress: progress)
        guard let adminURL = configuration.postgresAdminURL else {
            progress("creating the database and one test assigned to every simulated agent")
            let path = "\(work)/bench.sqlite"
            let database = Database(url: path, store: try SQLiteStore(configuration: .init(path: path), logger: logger))
            let (phase, records) = try await runPhase(setup, servers: 1, database: database, progress: progress)
            progress("baseline: plain batched SQLite insert of the same rows")
            let baseline = try SQLiteIngestBaseline(path: "\(work)/baseline.sqlite").insertRate(
                of: records,
                agents: setup.names,
                logger: Logger(label: "bench.baseline")
            )
            return Report(phase: phase, baselineRowsPerSecond: baseline, twoServers: nil)
        }
        let one = try await withScratchDatabase(adminURL: adminURL, suffix: "one") { configuration, database in
            let (phase, records) = try await runPhase(setup, servers: 1, database: database, progress: progress)
            progress("baseline: one COPY of the same rows into the same database")
            let baseline = try await PostgresIngestBaseline(configuration: configuration).copyRate(
                of: records,
                logger: Logger(label: "bench.baseline")
            )
            return (phase, baseline)
        }
        let two = try await withScratchDatabase(adminURL: adminURL, suffix: "two") { _, database in
            try await runPhase(setup, servers: 2, database: database, progress: progress).0
        }
        return Report(phase: one.0, baselineRowsPerSecond: one.1, twoServers: two)
    }

    /// A fresh PostgreSQL database for one phase, dropped afterwards.
    private func withScratchDatabase<T>(
        adminURL: String,
        suffix: String,
        _ body: (PostgresStore.Configuration, Database) async throws -> T
    ) async throws -> T {
        let name = "streamswarm_bench_\(getpid())_\(suffix)"
        let configuration = try await PostgresStore.createScratchDatabase(
            adminURL: adminURL,
            name: name,
            logger: logger
        )
        let result: Result<T, any Error>
        do {
            let store = PostgresStore(configuration: configuration, logger: logger)
            result = .success(try await body(configuration, Database(url: configuration.url, store: store)))
        } catch {
            result = .failure(error)
        }
        try? await PostgresStore.dropScratchDatabase(name, adminURL: adminURL, logger: logger)
        return try result.get()
    }

    private func makeSetup(work: String, progress: @Sendable (String) -> Void) throws -> Setup {
        progress("issuing a CA, a server certificate and \(configuration.agents) agent certificates")
        let ca = try CertificateAuthority(commonName: "bench CA")
        let serverCertificate = try ca.issueServer()
        var names: [AgentName] = []
        var tls: [TLSConfiguration] = []
        for index in 0..<configuration.agents {
            guard let name = AgentName("bench-\(index)") else { continue }
            let issued = try ca.issueAgent(name.rawValue)
            names.append(name)
            tls.append(
                try MeshTLS.makeAgentConfiguration(
                    MeshTLSMaterial(
                        certificate: .pem(issued.certificatePEM),
                        privateKey: .pem(issued.privateKeyPEM),
                        trustRoots: .pem(ca.certificatePEM)
                    )
                )
            )
        }
        for (file, text) in [
            ("ca.pem", ca.certificatePEM), ("server.pem", serverCertificate.certificatePEM),
            ("server.key", serverCertificate.privateKeyPEM),
        ] {
            try text.write(toFile: "\(work)/\(file)", atomically: true, encoding: .utf8)
            // Keys readable by others are refused at start-up.
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(work)/\(file)")
        }
        return Setup(work: work, names: names, tls: tls)
    }

    /// One load phase on `database` with `servers` server processes (agent n dials server n mod
    /// `servers`); returns its figures and the rows the agents sent.
    private func runPhase(
        _ setup: Setup,
        servers serverCount: Int,
        database: Database,
        progress: @Sendable (String) -> Void
    ) async throws -> (Phase, [MeasurementRecord]) {
        let agents = setup.names.count
        let seconds = configuration.seconds
        let measurementsPerSecond = configuration.measurementsPerSecond
        let heartbeat = configuration.heartbeatInterval
        let perAgent = measurementsPerSecond / max(1, agents)
        let testID = try await database.store.createTest(
            TestSpec(name: "bench", probes: [.tcp], target: .init(host: "127.0.0.1", port: 9)),
            agents: setup.names
        ).id

        var ports: [Int] = []
        var servers: [Process] = []
        defer {
            for server in servers {
                server.terminate()
                server.waitUntilExit()
            }
        }
        for _ in 0..<serverCount {
            let port = try Loopback.freePort()
            progress("starting server process \(servers.count + 1) of \(serverCount) on 127.0.0.1:\(port)")
            let server = try startServer(work: setup.work, database: database.url, port: port)
            servers.append(server)
            ports.append(port)
            try await Loopback.waitUntilListening(port: port, process: server)
        }
        try await Task.sleep(for: .milliseconds(500))
        func serversRSS() -> Int { servers.reduce(0) { $0 + ProcessMemory.residentBytes(pid: $1.processIdentifier) } }
        let rssStart = serversRSS()

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
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

        progress("connecting \(agents) simulated agents over mutual TLS to \(serverCount) server(s)")
        let connected = Locked(0)
        let result: Void = await withTaskGroup(of: Void.self) { tasks in
            for index in 0..<agents {
                let context: NIOSSLContext
                do { context = try NIOSSLContext(configuration: setup.tls[index]) } catch { continue }
                let frames = batches[index]
                let port = ports[index % ports.count]
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
            let rssIdle = serversRSS()
            recorder.setIdle(rss: rssIdle, connected: connected.withLock { $0 })
            progress(
                "\(connected.withLock { $0 }) agents connected; server RSS \(rssIdle / 1024) KiB; load phase \(seconds) s"
            )
            start.open()
            for await _ in tasks {}
        }
        _ = result
        let rssEnd = serversRSS()
        try? await group.shutdownGracefully()

        let recorded = recorder.report()
        let perConnection =
            recorded.connected > 0 ? Double(recorded.idleRSS - rssStart) / Double(recorded.connected) : 0
        let phase = Phase(
            servers: serverCount,
            connected: recorded.connected,
            stored: recorded.stored,
            offered: measurementsPerSecond * seconds,
            storedPerSecond: recorded.storedPerSecond,
            ackP50: recorded.ackP50,
            ackP99: recorded.ackP99,
            heartbeatP99: recorded.heartbeatP99,
            heartbeats: recorded.heartbeats,
            startRSSBytes: rssStart,
            idleRSSBytes: recorded.idleRSS,
            endRSSBytes: rssEnd,
            rssBytesPerConnection: perConnection
        )
        return (phase, try Self.records(batches: batches, agents: setup.names))
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
            // Mesh only: no gateway or responders, whose ports two servers (or `streamswarm dev`) would share.
            "--http", "", "--responder-udp-port", "0", "--responder-bandwidth-port", "0",
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
