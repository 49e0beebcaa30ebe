import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwarmAgent
import SwarmCore
import SwarmPKI
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// Several servers on one store: an agent given a list dials past a dead address, and when its
/// server dies it moves to the next one; every measurement is stored once (dedup lives in the store).
@Suite(.timeLimit(.minutes(2))) struct FailoverTests {
    /// A mesh server on `port` sharing `store`, reporting its presence every 100 ms.
    static func server(_ pki: TestingPKI, _ store: SQLiteStore, port: Int) throws -> MeshServer {
        var configuration = MeshServer.Configuration(tls: pki.serverMaterial)
        configuration.host = "127.0.0.1"
        configuration.port = port
        configuration.heartbeatInterval = .milliseconds(500)
        configuration.presenceInterval = .milliseconds(100)
        return try MeshServer(configuration: configuration, store: store, logger: Logger(label: "failover.\(port)"))
    }

    @Test("an agent skips a dead server, fails over when its server dies, and nothing is stored twice")
    func failover() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let agent = AgentName.fixture("roamer")
            let test = try await store.createTest(
                TestSpec(
                    name: "system",
                    probes: [.system],
                    schedule: .init(interval: .milliseconds(100), timeout: .seconds(1), randomStartOffset: false)
                ),
                agents: [agent]
            )
            let dead = try await freeLoopbackPort()
            let portA = try await freeLoopbackPort()
            let portB = try await freeLoopbackPort()
            func server(_ port: Int) throws -> MeshServer { try Self.server(pki, store, port: port) }
            var configuration = AgentSession.Configuration(tls: pki.material(try pki.agent("roamer")))
            configuration.servers = [dead, portA, portB].map { ServerAddress(host: "127.0.0.1", port: $0) }
            configuration.serverName = "localhost"
            configuration.spoolPath = "\(dir)/spool.sqlite"
            configuration.maxBatchMeasurements = 3
            // A long backoff (full jitter below 60 s): an agent that waited for one before trying
            // the next address would miss the 15 s limits below three times in four. 15 s, not
            // less: the debug build's TLS handshake alone took 3 s with the suite's tests in parallel.
            configuration.reconnectBase = .seconds(60)
            configuration.reconnectCap = .seconds(60)
            let session = try AgentSession(configuration: configuration, logger: Logger(label: "failover.agent"))
            func stored() async throws -> Int { try await store.measurementCount(test: test.id) }

            try await withThrowingTaskGroup(of: Void.self) { group in
                let serverB = try server(portB)
                group.addTask { try await serverB.run() }
                group.addTask { try await session.run() }
                defer { group.cancelAll() }
                let serverA = try server(portA)
                try await withThrowingTaskGroup(of: Void.self) { inner in
                    inner.addTask { try await serverA.run() }
                    defer { inner.cancelAll() }
                    let reached = try await eventually(timeout: .seconds(15)) { try await stored() >= 6 }
                    #expect(reached, "the agent never reached server A past the dead address")
                    #expect(session.statistics.sessionsOpened == 1)
                }
                // Server A is gone: the agent moves to B at once and keeps delivering.
                let beforeFailover = try await stored()
                let resumed = try await eventually(timeout: .seconds(15)) {
                    try await stored() >= beforeFailover + 6
                }
                #expect(resumed, "the agent did not fail over to server B")
                #expect(session.statistics.sessionsOpened == 2)
                #expect(try await store.agent(agent)?.online == true)
            }
            let rows = try await store.measurements(test: test.id, agent: agent, range: .all, limit: 100_000)
            #expect(Set(rows.map(\.sequence)).count == rows.count, "a measurement was stored twice")
        }
    }

    @Test("a draining server names its live peers in Goodbye, and the agent goes straight to one it knows")
    func drainRedirect() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let dead = try await freeLoopbackPort()
            let portA = try await freeLoopbackPort()
            let portB = try await freeLoopbackPort()
            func server(_ port: Int) throws -> MeshServer { try Self.server(pki, store, port: port) }
            var configuration = AgentSession.Configuration(tls: pki.material(try pki.agent("redirected")))
            // Without the hint the agent would dial the dead address next and record the failure.
            configuration.servers = [portA, dead, portB].map { ServerAddress(host: "127.0.0.1", port: $0) }
            configuration.serverName = "localhost"
            configuration.spoolPath = "\(dir)/spool.sqlite"
            configuration.reconnectBase = .seconds(5)
            configuration.reconnectCap = .seconds(5)
            let session = try AgentSession(configuration: configuration, logger: Logger(label: "redirect.agent"))
            let groupA = ServiceGroup(services: [try server(portA)], logger: Logger(label: "redirect.groupA"))
            let serverB = try server(portB)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await groupA.run() }
                tasks.addTask { try await serverB.run() }
                defer { tasks.cancelAll() }
                let bothReported = try await eventually {
                    try await store.servers(seenSince: .now() - .seconds(5)).count == 2
                }
                #expect(bothReported)
                tasks.addTask { try await session.run() }
                #expect(await eventually { session.statistics.sessionsOpened == 1 })
                await groupA.triggerGracefulShutdown()
                let moved = await eventually(timeout: .seconds(4)) { session.statistics.sessionsOpened == 2 }
                #expect(moved, "the agent did not reach server B")
                #expect(session.statistics.lastError == nil, "the agent dialled past the redirect")
            }
        }
    }
}
