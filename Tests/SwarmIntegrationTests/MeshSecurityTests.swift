import Foundation
import NIOCore
import NIOSSL
import SwarmCore
import SwarmPKI
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import SwarmWire
import Testing
import X509

/// Real TLS on loopback against a real MeshServer: who gets in, who does not, and that the server
/// keeps serving either way.
@Suite(.timeLimit(.minutes(1))) struct MeshSecurityTests {
    enum Peer: String, CaseIterable, Sendable {
        case noClientCertificate, otherCA, expired, revoked, wrongALPN, noURISAN
    }

    func agentTLS(
        _ pki: TestingPKI,
        _ issued: CertificateAuthority.Issued,
        alpn: [String] = [MeshTLS.alpn]
    ) throws -> TLSConfiguration {
        try MeshTLS.makeAgentConfiguration(pki.material(issued), alpn: alpn)
    }

    @Test("a valid agent gets Welcome and an empty snapshot, and is recorded online")
    func goodAgent() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            try await withMeshServer(pki: pki, store: store) { _, port in
                let client = try await SimulatedMeshClient.connect(
                    port: port,
                    tls: try agentTLS(pki, try pki.agent("a1"))
                )
                let (opening, _) = await client.hello()
                guard case .welcome(let welcome) = opening else {
                    Issue.record("expected Welcome, got \(opening)")
                    return
                }
                #expect(welcome.agentName == "a1")
                #expect(try await store.agents().map(\.name.rawValue) == ["a1"])
            }
        }
    }

    @Test("refused peers never get a session and the server keeps serving", arguments: Peer.allCases)
    func refused(peer: Peer) async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let revokedAgent = try pki.agent("revoked-one")
            try "\(revokedAgent.serial)\n".write(toFile: "\(dir)/revoked.txt", atomically: true, encoding: .utf8)
            try await withMeshServer(
                pki: pki,
                store: store,
                configure: { $0.revocationListPath = "\(dir)/revoked.txt" }
            ) { _, port in
                let tls: TLSConfiguration
                switch peer {
                case .noClientCertificate:
                    var configuration = TLSConfiguration.makeClientConfiguration()
                    configuration.trustRoots = .certificates(
                        try NIOSSLCertificate.fromPEMBytes(Array(pki.ca.certificatePEM.utf8))
                    )
                    configuration.applicationProtocols = [MeshTLS.alpn]
                    tls = configuration
                case .otherCA:
                    let stranger = try TestingPKI()
                    let issued = try stranger.agent("stranger")
                    tls = try MeshTLS.makeAgentConfiguration(
                        MeshTLSMaterial(
                            certificate: .pem(issued.certificatePEM),
                            privateKey: .pem(issued.privateKeyPEM),
                            trustRoots: .pem(pki.ca.certificatePEM)
                        )
                    )
                case .expired:
                    tls = try agentTLS(pki, try pki.expiredAgent("old"))
                case .revoked:
                    tls = try agentTLS(pki, revokedAgent)
                case .wrongALPN:
                    tls = try agentTLS(pki, try pki.agent("h2-speaker"), alpn: ["h2"])
                case .noURISAN:
                    tls = try agentTLS(
                        pki,
                        try pki.ca.issue(commonName: "bare", sans: [], usage: .clientAuth, validity: .seconds(600))
                    )
                }
                let opening: SimulatedMeshClient.Opening
                do {
                    opening = await (try await SimulatedMeshClient.connect(port: port, tls: tls)).hello().0
                } catch {
                    opening = .closed("\(error)")
                }
                switch opening {
                case .welcome:
                    Issue.record("\(peer) was admitted")
                case .refused(let error):
                    if peer == .revoked {
                        #expect(error.code == .revoked)
                    } else {
                        #expect(error.code == .unauthenticated)
                    }
                    #expect(error.fatal)
                case .closed:
                    #expect([.noClientCertificate, .otherCA, .expired, .wrongALPN].contains(peer))
                }
                // The server still serves a valid agent, and stored nothing for the refused one.
                let good = try await SimulatedMeshClient.connect(
                    port: port,
                    tls: try agentTLS(pki, try pki.agent("good"))
                )
                guard case .welcome = await good.hello().0 else {
                    Issue.record("server stopped serving after refusing \(peer)")
                    return
                }
                #expect(try await store.agents().map(\.name.rawValue) == ["good"])
            }
        }
    }

    @Test(
        "hostile frames get a clear error frame and close only that connection",
        arguments: [
            ("oversized", [UInt8(0), 0x00, 0x50, 0x00, 0x00], Mesh.ErrorMessage.Code.frameTooLarge),
            ("unknown flags", [UInt8(0x04), 0, 0, 0, 1, 0], Mesh.ErrorMessage.Code.unknownFlags),
            ("garbage payload", [UInt8(0), 0, 0, 0, 4, 0xFF, 0xFF, 0xFF, 0xFF], Mesh.ErrorMessage.Code.malformedFrame),
            ("a second Hello", [UInt8(0), 0, 0, 0, 2, 0x0A, 0x00], Mesh.ErrorMessage.Code.unexpectedMessage),
        ]
    )
    func hostileFrames(name: String, bytes: [UInt8], code: Mesh.ErrorMessage.Code) async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let test = try await store.createTest(
                TestSpec(name: "t", probes: [.system]),
                agents: [AgentName.fixture("hostile")]
            )
            try await withMeshServer(pki: pki, store: store) { _, port in
                let raw = try await RawTLSClient.connect(port: port, tls: try agentTLS(pki, try pki.agent("hostile")))
                let messages = try await raw.helloThenSend(bytes)
                let errors = messages.compactMap { message -> Mesh.ErrorMessage? in
                    if case .error(let error) = message { return error }
                    return nil
                }
                #expect(errors.map(\.code) == [code], "\(name): got \(messages.map(\.name))")
                #expect(errors.first?.fatal == true)
                #expect(try await store.measurementCount(test: test.id) == 0)
                let good = try await SimulatedMeshClient.connect(
                    port: port,
                    tls: try agentTLS(pki, try pki.agent("good"))
                )
                guard case .welcome = await good.hello().0 else {
                    Issue.record("server stopped serving after \(name)")
                    return
                }
            }
        }
    }

    @Test("a first frame that is not a valid Hello gets an error frame and nothing is recorded")
    func garbageBeforeHello() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            try await withMeshServer(pki: pki, store: store) { _, port in
                let raw = try await RawTLSClient.connect(port: port, tls: try agentTLS(pki, try pki.agent("early")))
                let messages = try await raw.helloThenSend([0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF], sayHello: false)
                guard case .error(let error) = messages.first else {
                    Issue.record("expected an error frame, got \(messages.map(\.name))")
                    return
                }
                #expect(error.code == .malformedFrame && error.fatal)
                #expect(try await store.agents().isEmpty)
            }
        }
    }

    @Test("an agent revoked in the store (the gateway's revoke) loses its live session and is refused after")
    func revokedInStore() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let issued = try pki.agent("gone")
            try await withMeshServer(pki: pki, store: store) { _, port in
                let live = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                try await withThrowingTaskGroup(of: [MeshMessage].self) { group in
                    group.addTask { await live.hello(keepOpen: true).1 }
                    #expect(await eventually { (try? await store.agent(AgentName.fixture("gone")))??.online == true })
                    _ = try await store.revokeAgent(AgentName.fixture("gone"), at: .now())
                    let saw = try await group.next() ?? []
                    let goodbyes = saw.compactMap { message -> Mesh.Goodbye? in
                        if case .goodbye(let goodbye) = message { return goodbye }
                        return nil
                    }
                    #expect(goodbyes.map(\.message) == ["this agent's certificate was revoked"])
                }
                let again = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                guard case .refused(let error) = await again.hello().0 else {
                    Issue.record("a revoked agent was welcomed")
                    return
                }
                #expect(error.code == .revoked)
                #expect(error.message.contains("revoked"))
                let other = try await SimulatedMeshClient.connect(
                    port: port,
                    tls: try agentTLS(pki, try pki.agent("other"))
                )
                guard case .welcome = await other.hello().0 else {
                    Issue.record("the server stopped serving others")
                    return
                }
            }
        }
    }

    @Test("an agent revoked through another handle on the database (the CLI's process) loses its live session")
    func revokedByAnotherProcess() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let cli = try makeTestStore(in: dir)  // what `streamswarm` in another process opens
            let issued = try pki.agent("elsewhere")
            let name = AgentName.fixture("elsewhere")
            try await withThrowingTaskGroup(of: Void.self) { feed in
                // The server's store runs its change feed, as `streamswarm server` runs it first in its group.
                feed.addTask { try await store.run() }
                defer { feed.cancelAll() }
                try await withMeshServer(pki: pki, store: store) { _, port in
                    let live = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                    try await withThrowingTaskGroup(of: [MeshMessage].self) { group in
                        group.addTask { await live.hello(keepOpen: true).1 }
                        #expect(await eventually { (try? await cli.agent(name))??.online == true })
                        // When: the other handle revokes; the agent never says Hello again.
                        _ = try await cli.revokeAgent(name, at: .now())
                        // Then: the server hears it through the change log and closes the session.
                        let saw = try await group.next() ?? []
                        let goodbyes = saw.compactMap { message -> Mesh.Goodbye? in
                            if case .goodbye(let goodbye) = message { return goodbye }
                            return nil
                        }
                        #expect(goodbyes.map(\.message) == ["this agent's certificate was revoked"])
                    }
                }
            }
        }
    }

    @Test("a revocation outlives deleting the agent: the deleted name and its certificate stay refused")
    func revocationSurvivesDelete() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let name = AgentName.fixture("doomed")
            let issued = try pki.agent("doomed")
            try await withMeshServer(pki: pki, store: store) { _, port in
                let first = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                guard case .welcome = await first.hello().0 else {
                    Issue.record("the agent was not welcomed before its revocation")
                    return
                }
                #expect(await eventually { (try? await store.agent(name))??.online == false })
                _ = try await store.revokeAgent(name, at: .now())
                // Allowed: a revoked agent is offline. Its data goes; its revocation must not.
                try await store.deleteAgent(name)
                #expect(try await store.agent(name) == nil)
                #expect(try await store.isRevoked(name, serial: ""))
                #expect(try await store.isRevoked(AgentName.fixture("renamed"), serial: issued.serial))

                let again = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                guard case .refused(let error) = await again.hello().0 else {
                    Issue.record("a revoked agent was admitted again after its row was deleted")
                    return
                }
                #expect(error.code == .revoked)
                #expect(try await store.agent(name)?.online != true)
            }
        }
    }

    @Test("a second session for the same agent replaces the first, which is told Goodbye(replaced)")
    func replacement() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let issued = try pki.agent("twin")
            try await withMeshServer(pki: pki, store: store) { _, port in
                let first = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                try await withThrowingTaskGroup(of: [MeshMessage].self) { group in
                    group.addTask { await first.hello(keepOpen: true).1 }
                    #expect(await eventually { (try? await store.agent(AgentName.fixture("twin")))??.online == true })
                    let second = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                    guard case .welcome = await second.hello().0 else {
                        Issue.record("second session refused")
                        return
                    }
                    let firstSaw = try await group.next() ?? []
                    let goodbyes = firstSaw.compactMap { message -> Mesh.Goodbye? in
                        if case .goodbye(let goodbye) = message { return goodbye }
                        return nil
                    }
                    #expect(goodbyes.map(\.reason) == [.replaced])
                }
            }
        }
    }

    @Test("an agent silent for 3 heartbeat intervals is closed and stored offline with the time")
    func missedHeartbeats() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            try await withMeshServer(pki: pki, store: store, configure: { $0.heartbeatInterval = .milliseconds(100) }) {
                _,
                port in
                let client = try await SimulatedMeshClient.connect(
                    port: port,
                    tls: try agentTLS(pki, try pki.agent("quiet"))
                )
                let before = Timestamp.now()
                _ = await client.hello(keepOpen: true)  // returns when the server closes the silent session
                #expect(await eventually { (try? await store.agent(AgentName.fixture("quiet")))??.online == false })
                let agent = try #require(try await store.agent(AgentName.fixture("quiet")))
                #expect(!agent.online)
                let offlineAt = try #require(agent.wentOfflineAt)
                #expect(offlineAt > before + .milliseconds(300))
            }
        }
    }

    @Test("an agent limited to TLS 1.2 is refused by default and admitted with allowTLS12", arguments: [false, true])
    func tls12Peers(allowed: Bool) async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            try await withMeshServer(pki: pki, store: store, configure: { $0.allowTLS12 = allowed }) { _, port in
                var tls = try agentTLS(pki, try pki.agent("old-tls"))
                tls.maximumTLSVersion = .tlsv12
                let opening: SimulatedMeshClient.Opening
                do {
                    opening = await (try await SimulatedMeshClient.connect(port: port, tls: tls)).hello().0
                } catch {
                    opening = .closed("\(error)")
                }
                if case .welcome = opening {
                    #expect(allowed, "a TLS 1.2 peer was admitted although 1.2 is not allowed")
                } else {
                    #expect(!allowed, "a TLS 1.2 peer was refused although 1.2 is allowed: \(opening)")
                }
            }
        }
    }

    @Test("a mistyped revocation list path stops the server at start instead of revoking nothing")
    func missingRevocationListRefusesToStart() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let error = await #expect(throws: PKIError.self) {
                try await withMeshServer(
                    pki: pki,
                    store: store,
                    configure: { $0.revocationListPath = "\(dir)/no-such-revoked.txt" }
                ) { _, _ in }
            }
            #expect(error?.code == .unreadableFile)
        }
    }

    @Test("revoking a connected agent's serial closes its session without a restart")
    func liveRevocation() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let issued = try pki.agent("soon-revoked")
            let list = "\(dir)/revoked.txt"
            try "# none yet\n".write(toFile: list, atomically: true, encoding: .utf8)
            try await withMeshServer(
                pki: pki,
                store: store,
                configure: {
                    $0.revocationListPath = list
                    $0.revocationReloadInterval = .milliseconds(50)
                }
            ) { _, port in
                let client = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                try await withThrowingTaskGroup(of: [MeshMessage].self) { group in
                    group.addTask { await client.hello(keepOpen: true).1 }
                    #expect(
                        await eventually {
                            (try? await store.agent(AgentName.fixture("soon-revoked")))??.online == true
                        }
                    )
                    try await Task.sleep(for: .milliseconds(20))
                    try "# revoked\n\(issued.serial)\n".write(toFile: list, atomically: true, encoding: .utf8)
                    let seen = try await group.next() ?? []
                    #expect(seen.contains { if case .goodbye = $0 { true } else { false } })
                }
                let again = try await SimulatedMeshClient.connect(port: port, tls: try agentTLS(pki, issued))
                guard case .refused(let error) = await again.hello().0 else {
                    Issue.record("revoked agent reconnected")
                    return
                }
                #expect(error.code == .revoked)
            }
        }
    }
}
