import Foundation
import Logging
import NIOCore
import NIOPosix
import SwarmAgent
import SwarmCore
import SwarmPKI
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import SwarmWire
import Testing

/// Dev-mode parts in one process: server, agent, SQLite. The server is stopped mid-stream and
/// restarted, the agent is killed and restarted on its spool; every measurement the agent produced
/// must be stored exactly once, and the spool must end empty.
@Suite(.timeLimit(.minutes(2))) struct EndToEndTests {
    /// Runs `service` beside `body` and cancels it (a hard stop) when `body` returns.
    func running<T: Sendable>(
        _ service: @escaping @Sendable () async throws -> Void,
        _ body: () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // why: a service that fails early would otherwise only show up as timeouts in the body.
                do {
                    try await service()
                } catch is CancellationError {
                } catch {
                    Issue.record("service stopped with an error: \(error)")
                }
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    func makeServer(
        _ pki: TestingPKI,
        _ store: SQLiteStore,
        port: Int,
        configure: (inout MeshServer.Configuration) -> Void = { _ in }
    ) throws -> MeshServer {
        var configuration = MeshServer.Configuration(tls: pki.serverMaterial)
        configuration.host = "127.0.0.1"
        configuration.port = port
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.statusFlushInterval = .milliseconds(100)
        configure(&configuration)
        return try MeshServer(configuration: configuration, store: store, logger: Logger(label: "e2e.server"))
    }

    func makeAgent(_ pki: TestingPKI, port: Int, spool: String) throws -> AgentSession {
        var configuration = AgentSession.Configuration(tls: pki.material(try pki.agent("local")))
        configuration.serverHost = "127.0.0.1"
        configuration.serverPort = port
        configuration.serverName = "localhost"
        configuration.spoolPath = spool
        configuration.maxBatchMeasurements = 3
        configuration.reconnectBase = .milliseconds(50)
        configuration.reconnectCap = .milliseconds(300)
        return try AgentSession(configuration: configuration, logger: Logger(label: "e2e.agent"))
    }

    @Test("measurements survive a server restart and an agent kill, stored exactly once")
    func exactlyOnce() async throws {
        try await withTemporaryDirectory { dir in
            // Given: a store with a tcp test against a loopback listener and a system test.
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let target = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in channel.close() }
                .bind(host: "127.0.0.1", port: 0).get()
            defer { target.close(promise: nil) }
            let targetPort = try #require(target.localAddress?.port)
            let local = AgentName.fixture("local")
            let tcp = try await store.createTest(
                TestSpec(
                    name: "tcp",
                    probes: [.tcp],
                    target: .init(host: "127.0.0.1", port: targetPort),
                    schedule: .init(interval: .milliseconds(100), timeout: .seconds(1), randomStartOffset: false)
                ),
                agents: [local]
            )
            let system = try await store.createTest(
                TestSpec(
                    name: "system",
                    probes: [.system],
                    schedule: .init(interval: .milliseconds(300), timeout: .seconds(1), randomStartOffset: false)
                ),
                agents: [local]
            )
            let port = try await freeLoopbackPort()
            let spoolPath = "\(dir)/spool.sqlite"
            func stored() async throws -> Int { try await store.measurementCount(test: nil) }

            // When: the agent runs while the server is stopped and restarted, then the agent is killed.
            let firstAgent = try makeAgent(pki, port: port, spool: spoolPath)
            try await running({ try await firstAgent.run() }) {
                let server1 = try makeServer(pki, store, port: port)
                try await running({ try await server1.run() }) {
                    let reached = try await eventually { try await stored() >= 6 }
                    #expect(reached)
                }
                // Server down: the agent keeps measuring into its spool.
                #expect(try await eventually { try await firstAgent.spool.depth() >= 5 })
                let whileDown = try await stored()
                let server2 = try makeServer(pki, store, port: port)
                try await running({ try await server2.run() }) {
                    let resumed = try await eventually { try await stored() >= whileDown + 10 }
                    #expect(resumed)
                }
            }
            // The killed agent's spool still holds what it had not had acknowledged.
            let secondAgent = try makeAgent(pki, port: port, spool: spoolPath)
            let server3 = try makeServer(pki, store, port: port)
            try await running({ try await server3.run() }) {
                try await running({ try await secondAgent.run() }) {
                    #expect(try await eventually { try await stored() >= 40 })
                    // Stop producing, then let the spool drain.
                    _ = try await store.cancelTest(tcp.id)
                    _ = try await store.cancelTest(system.id)
                    #expect(await eventually { secondAgent.runner.assignments.isEmpty })
                    #expect(try await eventually { try await secondAgent.spool.depth() == 0 })
                }
            }

            // Then: every sequence number the spool handed out is stored exactly once.
            let produced = try await secondAgent.spool.sequenceRange()
            let rows =
                try await store.measurements(test: tcp.id, agent: local, range: .all, limit: .max)
                + store.measurements(test: system.id, agent: local, range: .all, limit: .max)
            let sequences = rows.map(\.sequence)
            #expect(sequences.count == Set(sequences).count, "a measurement was stored twice")
            #expect(Set(sequences) == Set(produced), "stored \(sequences.count) of \(produced.count) produced")
            #expect(try await secondAgent.spool.depth() == 0)
            #expect(rows.contains { $0.kind == .tcp && $0.status == .ok && ($0.value ?? 0) > 0 })
            #expect(rows.contains { $0.kind == .system && $0.status == .ok })
            let tcpResult = try #require(rows.first { $0.kind == .tcp && $0.status == .ok })
            let decoded = try MeasurementEncoding.decodeTCP(tcpResult.payload)
            #expect(decoded.outcome == .connected && decoded.info != nil)
        }
    }

    @Test("a batch id re-used after a crash is renumbered and stored, never acked as a duplicate and lost")
    func reusedBatchIDAfterCrash() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let local = AgentName.fixture("local")
            let test = try await store.createTest(
                TestSpec(name: "system", probes: [.system], schedule: .init(interval: .seconds(3600))),
                agents: [local]
            )
            // The agent's spool holds a formed, unacknowledged batch...
            let spoolPath = "\(dir)/spool.sqlite"
            let formed: Spool.Batch
            do {
                let spool = try Spool(path: spoolPath)
                try await spool.append(
                    (0..<2).map { i in
                        ProbeObservation(
                            testID: test.id,
                            revision: 1,
                            kind: .system,
                            startedAt: .now(),
                            duration: .milliseconds(1),
                            status: .failed,
                            reason: "spooled \(i)"
                        )
                    }
                )
                formed = try #require(try await spool.formBatch(maxMeasurements: 10))
            }
            let spooled = try await Spool(path: spoolPath).sequenceRange()
            // ...whose id the server already stored with other measurements (the spool lost that
            // batch in an OS crash and handed the id out again).
            try await store.recordSessionStart(
                SessionStart(
                    agent: local,
                    sessionID: "before",
                    agentVersion: "t",
                    host: HostFacts(hostname: "h"),
                    at: .now()
                )
            )
            let other = MeasurementRecord(
                testID: test.id,
                revision: 1,
                agent: local,
                sequence: 1,
                kind: .system,
                startedAt: .now(),
                duration: .milliseconds(1),
                status: .failed,
                reason: "stored before the crash",
                payload: Data([1])
            )
            _ = try await store.commitBatches([IncomingBatch(agent: local, batchID: formed.id, measurements: [other])])

            let port = try await freeLoopbackPort()
            let agent = try makeAgent(pki, port: port, spool: spoolPath)
            let server = try makeServer(pki, store, port: port)
            try await running({ try await server.run() }) {
                try await running({ try await agent.run() }) {
                    let stored = try await eventually {
                        let sequences = Set(
                            try await store.measurements(test: test.id, agent: local, range: .all, limit: .max).map(
                                \.sequence
                            )
                        )
                        return spooled.allSatisfy { sequences.contains($0) }
                    }
                    #expect(stored, "the spooled measurements behind the re-used batch id were not stored")
                }
            }
            #expect(try await store.lastBatchID(of: local) > formed.id)
        }
    }

    @Test("a test created while the agent is connected is pushed at once; a cancel stops it")
    func livePush() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let port = try await freeLoopbackPort()
            let server = try makeServer(pki, store, port: port)
            let agent = try makeAgent(pki, port: port, spool: "\(dir)/spool.sqlite")
            try await running({ try await server.run() }) {
                try await running({ try await agent.run() }) {
                    #expect(await eventually { agent.statistics.connected })
                    let test = try await store.createTest(
                        TestSpec(
                            name: "s",
                            probes: [.system],
                            schedule: .init(
                                interval: .milliseconds(200),
                                timeout: .seconds(1),
                                randomStartOffset: false
                            )
                        ),
                        agents: [AgentName.fixture("local")]
                    )
                    #expect(await eventually(timeout: .seconds(5)) { agent.runner.assignments.map(\.0) == [test.id] })
                    let revised = try await store.reviseTest(
                        test.id,
                        spec: TestSpec(
                            name: "s2",
                            probes: [.system],
                            schedule: .init(interval: .milliseconds(300), timeout: .seconds(1))
                        )
                    )
                    #expect(
                        await eventually(timeout: .seconds(5)) {
                            agent.runner.assignments.map(\.1) == [revised.revision]
                        }
                    )
                    _ = try await store.cancelTest(test.id)
                    #expect(await eventually(timeout: .seconds(5)) { agent.runner.assignments.isEmpty })
                }
            }
        }
    }
}
