// why: the gateway is a public Service configured with a URL, a Logger and a Store.
public import Foundation
import Hummingbird
public import Logging
public import ServiceLifecycle
import SwarmCore
public import SwarmPKI
public import SwarmStore

/// The HTTP/JSON gateway and web UI. It reads and writes the store only (never the mesh
/// listener), so any number of gateways can serve one database.
public struct Gateway: Service {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port (tests); `onListening` reports the real one.
        public var port: Int
        /// Mark the session cookie `Secure`: set when the gateway is reached over TLS (a proxy).
        public var secureCookies: Bool
        public var passwordHasher: PasswordHasher
        /// Where the UI files are; nil uses the ones bundled with the binary.
        public var uiDirectory: URL?
        /// Reported by `/api/v1/health`.
        public var version: String = "dev"
        /// Seals device credentials posted to `/devices`; without it, devices with credentials are refused.
        public var deviceVault: DeviceVault?
        /// How long a resolved session or token is reused for reads (0 turns the cache off).
        /// Writes through this gateway reset it at once; other gateways see changes within it.
        public var authCacheTTL: Duration = .seconds(1)
        /// Reverse proxies whose `X-Forwarded-For` names the client (sign-in limits, logs).
        public var trustedProxies: TrustedProxies = .none
        /// bcrypt checks (sign-in, password change) running at once; more get 429 at once.
        public var maxConcurrentPasswordChecks: Int = 8
        /// How often expired browser sessions are deleted.
        public var sessionSweepInterval: Duration = .seconds(60)
        /// Header, body and idle timeouts and the connection cap.
        public var limits = HTTPLimits()
        /// What `/readyz` waits for besides the store (the mesh listener in `server` and `dev`).
        public var readiness: [ReadinessCheck] = []

        public init(
            host: String = "127.0.0.1",
            port: Int = 8080,
            secureCookies: Bool = false,
            passwordHasher: PasswordHasher = PasswordHasher(),
            uiDirectory: URL? = nil
        ) {
            self.host = host
            self.port = port
            self.secureCookies = secureCookies
            self.passwordHasher = passwordHasher
            self.uiDirectory = uiDirectory
        }
    }

    public let configuration: Configuration
    private let store: any Store
    private let logger: Logger
    private let onListening: @Sendable (Int) -> Void

    public init(
        configuration: Configuration,
        store: any Store,
        logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let live = LiveEvents(store: store, logger: logger)
        let (router, _) = try await Self.makeRouter(
            configuration: configuration,
            store: store,
            live: live,
            logger: logger
        )
        let onListening = self.onListening
        let logger = self.logger
        let app = Self.makeApplication(
            router: router,
            host: configuration.host,
            port: configuration.port,
            limits: configuration.limits,
            logger: logger,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("gateway listening on http://\(channel.localAddress?.ipAddress ?? "?"):\(port)")
                onListening(port)
            }
        )
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await live.run() }
                let sweeper = SessionSweeper(
                    store: store,
                    settings: GatewaySettings(store: store),
                    interval: configuration.sessionSweepInterval,
                    logger: logger
                )
                group.addTask { await sweeper.run() }
                group.addTask { try await app.run() }
                try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Event streams never end by themselves: end them so the server can drain.
            live.finish()
        }
    }

    /// The router with every route, and the API route table (for tests and the OpenAPI check).
    static func makeRouter(
        configuration: Configuration,
        store: any Store,
        live: LiveEvents,
        logger: Logger
    ) async throws -> (Router<GatewayContext>, [RouteEntry]) {
        guard let directory = configuration.uiDirectory ?? StaticAssets.bundledDirectory else {
            throw GatewayError(.internalServerError, "the UI resources are not bundled with this binary")
        }
        let assets = try StaticAssets(directory: directory)
        let settings = GatewaySettings(store: store)
        let hasher = configuration.passwordHasher
        let decoyHash = try await hasher.hash(Secrets.random())

        let router = Router(context: GatewayContext.self)
        router.add(middleware: ClientAddressMiddleware(trusted: configuration.trustedProxies))
        router.add(middleware: SecurityHeaders())
        router.get("/") { request, _ in
            guard let response = assets.response(for: "/ui/index.html", request: request) else {
                throw GatewayError.notFound("the UI is not bundled with this binary")
            }
            return response
        }
        router.get("/ui/**") { request, _ in
            guard let response = assets.response(for: request.uri.path, request: request) else {
                throw GatewayError.notFound("no such file: \(request.uri.path.prefix(200))")
            }
            return response
        }

        Readiness.add(to: router, store: store, checks: configuration.readiness, version: configuration.version)

        let group = router.group("api/v1").add(
            middleware: Authenticator(
                store: store,
                settings: settings,
                cache: PrincipalCache(ttl: configuration.authCacheTTL)
            )
        )
        let api = APIRouteBuilder(group: group, prefix: "/api/v1")
        api.on(.get, "health", .anyone) { _, _ in
            try JSONResponse.make(["status": "ok", "version": configuration.version])
        }
        api.on(.get, "openapi.json", .anyone) { request, _ in
            guard let response = assets.response(for: "/ui/openapi.json", request: request) else {
                throw GatewayError.notFound("the OpenAPI document is not bundled with this binary")
            }
            return response
        }
        api.on(.get, "stream", .role(.viewer)) { _, context in
            guard let principal = context.principal else { throw GatewayError.unauthenticated }
            return try live.response(for: principal)
        }
        AuthRoutes(
            store: store,
            hasher: hasher,
            limiter: LoginLimiter(maxConcurrentChecks: configuration.maxConcurrentPasswordChecks),
            live: live,
            settings: settings,
            secureCookies: configuration.secureCookies,
            decoyHash: decoyHash
        ).add(to: api)
        AgentRoutes(store: store, serverVersion: configuration.version).add(to: api)
        TestRoutes(store: store).add(to: api)
        ResultRoutes(store: store, settings: settings).add(to: api)
        AnalysisRoutes(store: store).add(to: api)
        ReportRoutes(store: store).add(to: api)
        AlertRoutes(store: store).add(to: api)
        MeshRoutes(store: store, settings: settings).add(to: api)
        AccountRoutes(store: store, hasher: hasher, live: live).add(to: api)
        SettingsRoutes(store: store, settings: settings).add(to: api)
        OverviewRoutes(store: store, settings: settings).add(to: api)
        DeviceRoutes(store: store, vault: configuration.deviceVault).add(to: api)
        return (router, api.entries)
    }
}
