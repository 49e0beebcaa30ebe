import Foundation
import Logging
import NIOCore
import NIOPosix
import SwarmAgent
import SwarmCore
import SwarmPKI
import SwarmProbes
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import SwarmWire
import Testing

/// Mesh tests end to end: the server hands its responder key to agents in Welcome, agents advertise
/// their responders in Hello, and a test naming a peer agent is sent out with that peer's address
/// filled in, so agent → agent udp measurements arrive in the store.
@Suite(.timeLimit(.minutes(1))) struct MeshTestTests {
    @Test("agent a measures agent b's responder through a mesh test; the key came from the server")
    func pairwise() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let key = ResponderKey.random()

            var serverConfiguration = MeshServer.Configuration(tls: pki.serverMaterial)
            serverConfiguration.port = 0
            serverConfiguration.heartbeatInterval = .milliseconds(500)
            serverConfiguration.responderKey = key
            let listening = AsyncStream.makeStream(of: Int.self)
            let server = try MeshServer(
                configuration: serverConfiguration,
                store: store,
                logger: Logger(label: "mesh.server")
            ) {
                listening.continuation.yield($0.port ?? 0)
            }

            // Agent b runs a responder that knows no key until its session delivers one.
            let bKeyring = ResponderKeyring()
            let responder = try UDPEchoResponder(
                host: "127.0.0.1",
                port: 0,
                keyring: bKeyring,
                logger: Logger(label: "mesh.b")
            )
            responder.start()
            defer { responder.stop() }

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                defer { group.cancelAll() }
                var ports = listening.stream.makeAsyncIterator()
                let port = try #require(await ports.next())

                func agent(
                    _ name: String,
                    keyring: ResponderKeyring,
                    responder: ResponderEndpoint?
                ) throws -> AgentSession {
                    var configuration = AgentSession.Configuration(tls: pki.material(try pki.agent(name)))
                    configuration.serverHost = "127.0.0.1"
                    configuration.serverPort = port
                    configuration.serverName = "localhost"
                    configuration.spoolPath = "\(dir)/\(name).sqlite"
                    configuration.keyring = keyring
                    configuration.responder = responder
                    configuration.maxBatchMeasurements = 5
                    return try AgentSession(configuration: configuration, logger: Logger(label: "mesh.\(name)"))
                }
                let b = try agent(
                    "b",
                    keyring: bKeyring,
                    responder: ResponderEndpoint(address: "", udpPort: responder.port, bandwidthPort: 0)
                )
                let a = try agent("a", keyring: ResponderKeyring(), responder: nil)
                group.addTask { try await b.run() }
                group.addTask { try await a.run() }

                // b connected: its advertised responder (address filled from the connection) is stored.
                let advertised = try await eventually {
                    try await store.agent(AgentName.fixture("b"))?.host?.responder?.address == "127.0.0.1"
                }
                #expect(advertised)
                let keyed = await eventually { bKeyring.current == key }
                #expect(keyed, "agent b's responder got the swarm key from Welcome")

                var spec = TestSpec(name: "mesh a→b", probes: [.udp], target: .init(agentName: "b"))
                spec.schedule = .init(interval: .milliseconds(300), timeout: .seconds(1), randomStartOffset: false)
                spec.options.udp = .init(packetsPerSecond: 100, duration: .milliseconds(100))
                let test = try await store.createTest(spec, agents: [AgentName.fixture("a")])

                let measured = try await eventually(timeout: .seconds(15)) {
                    let rows = try await store.measurements(
                        test: test.id,
                        agent: AgentName.fixture("a"),
                        range: .all,
                        limit: 10,
                        newestFirst: true
                    )
                    return rows.contains { $0.status == .ok }
                }
                #expect(measured, "no ok udp measurement from a to b's responder")
                let rows = try await store.measurements(
                    test: test.id,
                    agent: AgentName.fixture("a"),
                    range: .all,
                    limit: 10,
                    newestFirst: true
                )
                let ok = try #require(rows.first { $0.status == .ok })
                let json = try MeasurementEncoding.resultJSON(kind: .udp, payload: ok.payload)
                #expect(json.contains("\"address\":\"127.0.0.1:\(responder.port)\""), "\(json)")
                #expect(responder.counters.answered > 0)
                #expect(responder.counters.refusedUnauthenticated == 0)
            }
        }
    }
}
