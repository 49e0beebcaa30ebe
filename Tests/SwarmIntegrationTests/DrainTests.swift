import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SwarmCore
import SwarmPKI
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import SwarmWire
import Synchronization
import Testing

/// SIGTERM/SIGINT path: the ServiceGroup's graceful shutdown drains the mesh server.
@Suite(.timeLimit(.minutes(1))) struct DrainTests {
    @Test("graceful shutdown says Goodbye(drain) to agents and marks them offline")
    func drain() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            var configuration = MeshServer.Configuration(tls: pki.serverMaterial)
            configuration.host = "127.0.0.1"
            configuration.port = 0
            let bound = Mutex<Int?>(nil)
            let server = try MeshServer(configuration: configuration, store: store, logger: Logger(label: "drain")) {
                address in
                bound.withLock { $0 = address.port }
            }
            let group = ServiceGroup(services: [server], logger: Logger(label: "drain.group"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                #expect(await eventually { bound.withLock { $0 } != nil })
                let port = try #require(bound.withLock { $0 })
                let tls = try MeshTLS.makeAgentConfiguration(pki.material(try pki.agent("drained")))
                let client = try await SimulatedMeshClient.connect(port: port, tls: tls)
                let seen = Mutex<[MeshMessage]>([])
                tasks.addTask {
                    let messages = await client.hello(keepOpen: true).1
                    seen.withLock { $0 = messages }
                }
                #expect(await eventually { (try? await store.agent(.fixture("drained")))??.online == true })
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                let goodbyes = seen.withLock { messages in
                    messages.compactMap { message -> Mesh.Goodbye.Reason? in
                        if case .goodbye(let goodbye) = message { return goodbye.reason }
                        return nil
                    }
                }
                #expect(goodbyes == [.drain])
                #expect(try await store.agent(.fixture("drained"))?.online == false)
            }
        }
    }
}
