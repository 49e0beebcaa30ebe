import Foundation
// why: the public API takes a Logger, TLS material, a Store and an event loop group (default: the NIOPosix singleton), and is a ServiceLifecycle Service.
public import Logging
public import NIOCore
public import NIOPosix
import NIOSSL
public import ServiceLifecycle
// why: the configuration holds the responder key as a SwarmCore type.
public import SwarmCore
public import SwarmPKI
public import SwarmStore
import SwarmWire

/// The mesh listener: accepts agents over mutual TLS, runs their sessions, pushes tests and ingests
/// result batches.
///
/// One bad peer can never end the accept loop: every connection runs in its own child task that
/// catches and logs its errors.
public final class MeshServer: Service, Sendable {
    public struct Configuration: Sendable {
        /// Address to bind. Defaults to `127.0.0.1` (use `0.0.0.0` or `::` to serve a network).
        public var host: String = "127.0.0.1"
        /// Port to bind; 0 picks a free one (see `onListening`). Defaults to 7443.
        public var port: Int = 7443
        public var tls: MeshTLSMaterial
        /// Accept agents that speak TLS 1.2 at most; off by default (TLS 1.3 only).
        public var allowTLS12 = false
        /// Path of the revocation list (`certs/revoked.txt`); nil disables revocation.
        public var revocationListPath: String?
        /// How often the revocation list is checked for changes. Defaults to 2 s.
        public var revocationReloadInterval: Duration = .seconds(2)
        /// Heartbeat interval told to agents. An agent silent for 3 intervals is marked offline.
        /// Defaults to 10 s.
        public var heartbeatInterval: Duration = .seconds(10)
        /// Time a new connection has to complete TLS and send Hello. Defaults to 10 s.
        public var helloTimeout: Duration = .seconds(10)
        /// Largest frame payload accepted. Defaults to 4 MiB.
        public var maxFrameBytes: Int = MeshFrame.defaultMaxPayloadBytes
        /// Result batches an agent may have unacknowledged. Defaults to 8.
        public var maxInFlightBatches: Int = 8
        /// Largest number of measurements committed in one store transaction. Defaults to 20,000.
        public var maxMeasurementsPerCommit: Int = 20_000
        /// How often coalesced agent status (last seen, load) is written. Defaults to 2 s.
        public var statusFlushInterval: Duration = .seconds(2)
        /// Time a draining server waits for sessions to finish their in-flight batches. Defaults to 5 s.
        public var drainTimeout: Duration = .seconds(5)
        /// Version string sent in Welcome.
        public var serverVersion: String = "0.1.0"
        /// This server process among those sharing the store: a new id each start.
        public var serverID: String = UUID().uuidString.lowercased()
        /// The address agents dial for this server (HOST:PORT), told to agents of a draining peer.
        /// Defaults to the bind address (useless to others when it is a wildcard: set it then).
        public var advertisedAddress: String?
        /// How often this server reports itself alive to the store. Defaults to 5 s.
        public var presenceInterval: Duration = .seconds(5)
        /// A server silent this long is taken for dead: its agents are marked offline by the
        /// others (or by itself once restarted). Defaults to 20 s.
        public var presenceTimeout: Duration = .seconds(20)
        /// The swarm's responder key, handed to every agent in Welcome; nil leaves agents without one
        /// (their udp and bandwidth probes then say so).
        public var responderKey: ResponderKey?
        /// Unseals device credentials for gNMI assignments; without it, devices with credentials
        /// are handed out with the reason instead.
        public var deviceVault: DeviceVault?

        public init(tls: MeshTLSMaterial) { self.tls = tls }
    }

    let configuration: Configuration
    let store: any MeshServerStore
    let logger: Logger
    let eventLoopGroup: any EventLoopGroup
    let registry = SessionRegistry()
    let statusBoard = AgentStatusBoard()
    let ingest: BatchIngest
    let revocations: RevocationList
    private let sslContext: NIOSSLContext
    private let onListening: @Sendable (SocketAddress) -> Void

    /// - Throws: ``PKIError`` when the TLS material cannot be loaded.
    public init(
        configuration: Configuration,
        store: any MeshServerStore,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.onListening = onListening
        self.sslContext = try NIOSSLContext(
            configuration: MeshTLS.makeServerConfiguration(configuration.tls, allowTLS12: configuration.allowTLS12)
        )
        self.revocations = RevocationList(path: configuration.revocationListPath)
        self.ingest = BatchIngest(
            store: store,
            maxMeasurementsPerCommit: configuration.maxMeasurementsPerCommit,
            logger: logger
        )
        try revocations.load()
    }

    /// Number of live sessions.
    public var sessionCount: Int { registry.count }

    public func run() async throws {
        typealias Connection = (NIOAsyncChannel<MeshFrame, MeshFrame>, EventLoopFuture<PeerIdentity>)
        let maxFrameBytes = configuration.maxFrameBytes
        let sslContext = self.sslContext
        let revocations = self.revocations
        let logger = self.logger
        let listener = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel -> EventLoopFuture<Connection> in
                channel.eventLoop.makeCompletedFuture {
                    let admitted = channel.eventLoop.makePromise(of: PeerIdentity.self)
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLServerHandler(context: sslContext))
                    try sync.addHandler(
                        MeshAdmissionHandler(revocations: revocations, promise: admitted, logger: logger)
                    )
                    try sync.addHandler(
                        ByteToMessageHandler(
                            MeshFrameDecoder(maxPayloadBytes: maxFrameBytes),
                            maximumBufferSize: maxFrameBytes + 2 * MeshFrame.headerBytes + 65_536
                        )
                    )
                    try sync.addHandler(MessageToByteHandler(MeshFrameEncoder()))
                    let async = try NIOAsyncChannel<MeshFrame, MeshFrame>(wrappingChannelSynchronously: channel)
                    return (async, admitted.futureResult)
                }
            }
        if let address = listener.channel.localAddress {
            logger.info("mesh listening on \(address)", metadata: ["swarm.mesh.port": "\(address.port ?? 0)"])
            onListening(address)
        }

        try await withGracefulShutdownHandler {
            // It is important to use a discarding task group here: connection tasks would otherwise
            // accumulate their results for the life of the server.
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await self.ingest.run() }
                group.addTask { await self.flushStatusLoop() }
                group.addTask { await self.revocationLoop() }
                group.addTask { await self.changeFeedLoop() }
                let boundPort = listener.channel.localAddress?.port ?? configuration.port
                group.addTask { await self.presenceLoop(boundPort: boundPort) }
                try await listener.executeThenClose { inbound in
                    for try await (connection, identity) in inbound {
                        group.addTask {
                            let session = MeshSession(server: self, channel: connection, identity: identity)
                            await session.run()
                        }
                    }
                }
                // The listener is closed: drain sessions, then stop the background loops.
                await self.drainSessions()
                self.ingest.finish()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            logger.info("mesh server draining: closing the listener and saying Goodbye to agents")
            listener.channel.close(promise: nil)
        }
        await flushStatus()
        logger.info("mesh server stopped")
    }

    private func drainSessions() async {
        let sessions = registry.all()
        let redirect = await otherServers()
        if !redirect.isEmpty { logger.info("draining: sending agents to \(redirect.joined(separator: ", "))") }
        for handle in sessions { handle.send(.close(reason: .drain, redirect: redirect)) }
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while registry.count > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The other servers that reported lately, by the address agents dial (most recent first);
    /// none when the store cannot say (the Goodbye then carries no hint).
    private func otherServers() async -> [String] {
        let since = Timestamp.now() - configuration.presenceTimeout
        guard let servers = try? await store.servers(seenSince: since) else { return [] }
        return servers.filter { $0.id != configuration.serverID }.map(\.address).filter(Self.isDialable)
    }

    /// An address another host can dial: not a wildcard bind address.
    static func isDialable(_ address: String) -> Bool {
        !(address.hasPrefix("0.0.0.0:") || address.hasPrefix("[::]:") || address.hasPrefix(":::") || address.isEmpty)
    }

    /// Reports this server alive, and marks offline the agents of servers that stopped reporting
    /// (a crashed server cannot): liveness survives a server crash.
    private func presenceLoop(boundPort: Int) async {
        let startedAt = Timestamp.now()
        let address = configuration.advertisedAddress ?? ServerAddressText.join(configuration.host, boundPort)
        while !Task.isCancelled {
            let now = Timestamp.now()
            do {
                try await store.recordServerAlive(
                    ServerPresence(
                        id: configuration.serverID,
                        address: address,
                        version: configuration.serverVersion,
                        startedAt: startedAt,
                        lastSeen: now
                    )
                )
                let orphans = try await store.markAgentsOfDeadServersOffline(
                    silentSince: now - configuration.presenceTimeout,
                    at: now
                )
                if !orphans.isEmpty {
                    let names = orphans.prefix(10).map(\.rawValue).joined(separator: ", ")
                    logger.notice("marked \(orphans.count) agents offline whose server stopped reporting: \(names)")
                }
            } catch {
                logger.warning("could not report this server alive to the store: \(error); retrying")
            }
            do { try await Task.sleep(for: configuration.presenceInterval) } catch { break }
        }
    }

    private func flushStatusLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.statusFlushInterval) } catch { break }
            await flushStatus()
        }
    }

    func flushStatus() async {
        let updates = statusBoard.drain()
        guard !updates.isEmpty else { return }
        do {
            try await store.recordAgentStatus(updates)
        } catch {
            logger.warning("could not store agent status for \(updates.count) agents: \(error)")
        }
    }

    private func revocationLoop() async {
        guard configuration.revocationListPath != nil else { return }
        var lastWarning: String?  // said once, not every interval
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.revocationReloadInterval) } catch { break }
            do {
                let added = try revocations.reloadIfChanged()
                lastWarning = nil
                if !added.isEmpty {
                    let closed = registry.closeSessions(withSerials: added)
                    logger.notice(
                        "revocation list reloaded: \(added.count) new serials, \(closed) live sessions closed",
                        metadata: ["swarm.revocations": "\(revocations.count)"]
                    )
                }
            } catch {
                let warning = "\(error)"
                if warning != lastWarning { logger.warning("\(warning)") }
                lastWarning = warning
            }
        }
    }

    private func changeFeedLoop() async {
        for await change in store.changes.subscribe() {
            if Task.isCancelled { break }
            switch change {
            case .assignmentsChanged(_, let agents):
                for agent in agents { registry.session(for: agent)?.send(.reconcile) }
            case .testsChanged:
                for session in registry.all() { session.send(.reconcile) }
            case .agentChanged(let agent):
                guard let session = registry.session(for: agent) else { continue }
                if let record = try? await store.agent(agent), record.revokedAt != nil {
                    logger.notice("agent \(agent) was revoked; closing its session")
                    session.send(.close(reason: .revoked))
                }
            case .measurementsStored:
                continue
            }
        }
    }
}

/// `host:port` with an IPv6 literal in brackets.
enum ServerAddressText {
    static func join(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
