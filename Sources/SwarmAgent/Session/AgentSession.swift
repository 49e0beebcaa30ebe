import Foundation
// why: the public API takes a Logger, TLS material and an event loop group (default: the NIOPosix singleton), and is a ServiceLifecycle Service.
public import Logging
public import NIOCore
public import NIOPosix
import NIOSSL
public import ServiceLifecycle
// why: the configuration names a ResponderEndpoint and a ResponderKeyring (SwarmCore, SwarmProbes).
public import SwarmCore
public import SwarmPKI
public import SwarmProbes
import SwarmWire
import Synchronization

/// The agent: keeps a mesh session to the server (dial with capped, fully jittered backoff, Hello,
/// reconcile assignments, heartbeats) and sends spooled measurements in acknowledged batches, while
/// its ``ProbeRunner`` keeps measuring whether or not the server is reachable.
public final class AgentSession: Service, Sendable {
    public struct Configuration: Sendable {
        /// The servers of the swarm, tried in order: a failed dial or a session that ends moves on
        /// to the next; backoff applies once every server was tried. Defaults to 127.0.0.1:7443.
        public var servers: [ServerAddress] = [ServerAddress(host: "127.0.0.1", port: 7443)]
        /// The first server's host (setting it makes the list that one server).
        public var serverHost: String {
            get { servers.first?.host ?? "" }
            set { servers = [ServerAddress(host: newValue, port: serverPort)] }
        }
        /// The first server's port (setting it makes the list that one server).
        public var serverPort: Int {
            get { servers.first?.port ?? 7443 }
            set { servers = [ServerAddress(host: serverHost, port: newValue)] }
        }
        /// Name checked against every server's certificate (SNI too); defaults to each server's host.
        public var serverName: String?
        public var tls: MeshTLSMaterial
        /// The spool file. Defaults to `./data/agent-spool.sqlite`.
        public var spoolPath: String = "data/agent-spool.sqlite"
        /// Largest number of measurements per batch. Defaults to 500.
        public var maxBatchMeasurements: Int = 500
        /// Batches sent and not yet acknowledged; the server's Welcome may lower it. Defaults to 4.
        public var maxInFlightBatches: Int = 4
        /// Reconnect backoff: base and cap of the full-jitter exponential. Defaults to 0.5 s and 30 s.
        public var reconnectBase: Duration = .milliseconds(500)
        public var reconnectCap: Duration = .seconds(30)
        /// Time to wait for Welcome (and TLS). Defaults to 10 s.
        public var handshakeTimeout: Duration = .seconds(10)
        public var agentVersion: String = "0.1.0"
        /// Receives the responder key from each Welcome; share it with this agent's responders.
        public var keyring = ResponderKeyring()
        /// Where this agent's responders listen. An empty address is replaced by the local address of
        /// the mesh connection (the address the server, and likely the other agents, reach us on).
        public var responder: ResponderEndpoint?
        public init(tls: MeshTLSMaterial) { self.tls = tls }
    }

    /// What the agent has seen, for tests and the CLI.
    public struct Statistics: Sendable {
        public var sessionsOpened = 0
        public var batchesAcked = 0
        public var measurementsAcked = 0
        public var lastError: String?
        public var connected = false
    }

    public let configuration: Configuration
    public let spool: Spool
    public let runner: ProbeRunner
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let sslContext: NIOSSLContext
    private let stats = Mutex(Statistics())
    /// Wakes the batch sender when measurements were spooled or a batch was acked.
    private let doorbell = Doorbell()

    /// - Throws: ``PKIError`` for unusable TLS material, ``AgentError`` `.spoolUnavailable` when the spool cannot open.
    public init(
        configuration: Configuration,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.sslContext = try NIOSSLContext(configuration: MeshTLS.makeAgentConfiguration(configuration.tls))
        self.spool = try Spool(path: configuration.spoolPath)
        let doorbell = self.doorbell
        self.runner = ProbeRunner(
            spool: spool,
            logger: logger,
            keyring: configuration.keyring,
            onAppended: { doorbell.ring() }
        )
    }

    public var statistics: Statistics { stats.withLock { $0 } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.runner.run() }
            await self.connectionLoop()
            self.runner.finish()
        }
    }

    private func connectionLoop() async {
        var backoff = Backoff(base: configuration.reconnectBase, cap: configuration.reconnectCap)
        var rotation = ServerRotation(count: configuration.servers.count)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var retryAfter: Duration?
            var redirect: [String] = []
            let opened = stats.withLock { $0.sessionsOpened }
            let server = configuration.servers[rotation.current]
            do {
                // Not cancelled on graceful shutdown: a live session says Goodbye and closes itself;
                // a connection attempt is bounded by the handshake timeout.
                let reconnect = try await self.connectOnce(to: server)
                retryAfter = reconnect.after
                redirect = reconnect.redirect
            } catch is CancellationError {
                break
            } catch {
                stats.withLock {
                    $0.lastError = "\(server): \(error)"
                    $0.connected = false
                }
                logger.warning("mesh session to \(server) failed: \(Self.describe(error))")
            }
            let sessionOpened = stats.withLock({ $0.sessionsOpened }) > opened
            // A session that got as far as Welcome proves the path works: start the backoff afresh.
            if sessionOpened { backoff.reset() }
            if Task.isCancelled || Task.isShuttingDownGracefully { break }
            // The next server at once while some in this round are untried; backoff after a round.
            var roundDone = rotation.advance(sessionOpened: sessionOpened)
            // A draining server named its peers: go to the first of them this agent was given.
            if let index = redirect.lazy.compactMap({ target in
                self.configuration.servers.firstIndex { $0.description == target }
            }).first {
                rotation.jump(to: index)
                roundDone = false
            }
            let wait = retryAfter ?? (roundDone ? backoff.next() : .zero)
            let next = configuration.servers[rotation.current]
            logger.info("reconnecting to \(next) in \(wait.milliseconds) ms")
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                break
            }
        }
        // try?: the count is informational; a spool read error here changes nothing.
        let depth = (try? await spool.depth()) ?? 0
        logger.info("agent stopped; \(depth) measurements stay in the spool for next time")
    }

    /// An operator-readable reason for a failed session, with what to check.
    private static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if error.dnsAError != nil && error.dnsAAAAError != nil && error.connectionErrors.isEmpty {
                return "cannot resolve \(error.host): check --server"
            }
            let reasons = Set(
                error.connectionErrors.map { failure -> String in
                    if let io = failure.error as? IOError {
                        return String(cString: strerror(io.errnoCode)).lowercased()
                    }
                    return "\(failure.error)"
                }
            )
            return
                "cannot connect to \(error.host):\(error.port) (\(reasons.sorted().joined(separator: ", "))): is the server running and reachable?"
        }
        if error is ChannelError { return "connection to the server failed: \(error)" }
        if let error = error as? NIOSSLError {
            return "TLS handshake failed (\(error)): check that --ca is the swarm CA and the certificate is valid"
        }
        if let error = error as? BoringSSLError {
            return
                "TLS failed (\(error)): the server may have refused this certificate (revoked, expired or another CA)"
        }
        if let error = error as? AgentError { return error.message }
        return "\(error)"
    }

    /// One session: returns the wait before reconnecting if the server asked for one.
    private func connectOnce(to server: ServerAddress) async throws -> Reconnect {
        var connector = MeshConnector(
            host: server.host,
            port: server.port,
            serverName: configuration.serverName ?? server.host,
            sslContext: sslContext
        )
        connector.connectTimeout = configuration.handshakeTimeout
        let channel = try await connector.connect(group: eventLoopGroup)
        return try await channel.executeThenClose { inbound, outbound in
            var frames = inbound.makeAsyncIterator()
            var host = HostFactsReader.read()
            if var responder = configuration.responder {
                if responder.address.isEmpty { responder.address = channel.channel.localAddress?.ipAddress ?? "" }
                host.responder = responder.address.isEmpty ? nil : responder
            }
            let hello = Mesh.Hello(
                agentVersion: configuration.agentVersion,
                host: host,
                capabilities: ProbeCatalog.kinds,
                lastAckedBatchID: try await spool.lastAcknowledgedBatchID(),
                spoolDepth: UInt64(try await spool.depth()),
                running: runner.assignments.map { Mesh.AssignmentRef(testID: $0.0, revision: $0.1) }
            )
            defer { stats.withLock { $0.connected = false } }
            let session = LiveSession(
                owner: self,
                outbound: outbound,
                channel: channel.channel,
                server: server,
                configuration: .init(
                    maxInFlightBatches: configuration.maxInFlightBatches,
                    maxBatchMeasurements: configuration.maxBatchMeasurements,
                    replacedBackoff: configuration.reconnectCap
                ),
                logger: logger
            )
            return try await session.run(
                hello: hello,
                frames: &frames,
                doorbell: doorbell,
                welcomeTimeout: configuration.handshakeTimeout
            )
        }
    }

    // MARK: - Used by LiveSession

    func recordSessionOpened() {
        stats.withLock {
            $0.sessionsOpened += 1
            $0.connected = true
            $0.lastError = nil
        }
    }

    func recordAck(measurements: Int) {
        stats.withLock {
            $0.batchesAcked += 1
            $0.measurementsAcked += measurements
        }
    }

}
