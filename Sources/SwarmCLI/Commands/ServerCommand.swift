import ArgumentParser
import Logging
import ServiceLifecycle
import SwarmAgent
import SwarmAlerting
import SwarmGateway
import SwarmPKI
import SwarmProbes
import SwarmReports
import SwarmServer
import SwarmStore
import UnixSignals

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract:
            "Run the server: mesh listener (agents over mutual TLS), recurrence scheduler, HTTP gateway and web UI."
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "Mesh listen address HOST:PORT.")
    var listen: String = "0.0.0.0:7443"
    @Option(
        help:
            "Mesh address other hosts dial for this server (HOST:PORT; default: --listen). Told to agents of a draining peer."
    )
    var advertise: String?
    @Option(help: "Swarm CA certificate (PEM; a bundle during CA rotation).")
    var ca: String = "certs/ca.pem"
    @Option(help: "Server certificate (PEM).")
    var cert: String = "certs/server.pem"
    @Option(help: "Server private key (PEM).")
    var key: String = "certs/server.key"
    @Option(help: "Revocation list, reloaded while running (empty string disables).")
    var revoked: String = "certs/revoked.txt"
    @Option(name: .customLong("heartbeat-interval"), help: "Heartbeat interval told to agents; 3 missed = offline.")
    var heartbeatInterval: String = "10s"
    @Option(name: .customLong("max-frame-bytes"), help: "Largest accepted frame payload.")
    var maxFrameBytes: Int = 4 << 20
    @Option(name: .customLong("max-in-flight-batches"), help: "Unacknowledged batches allowed per agent.")
    var maxInFlightBatches: Int = 8
    @OptionGroup(title: "Responders") var responders: ResponderOptions
    @OptionGroup(title: "Devices") var deviceKey: DeviceKeyOptions
    @Option(name: .customLong("http"), help: "Gateway (JSON API and web UI) listen address HOST:PORT; empty disables.")
    var http: String = "127.0.0.1:8080"
    @Flag(
        name: .customLong("secure-cookies"),
        help: "Mark session cookies Secure: set this when browsers reach the gateway over HTTPS (a TLS proxy)."
    )
    var secureCookies = false
    @OptionGroup(title: "Gateway limits") var gatewayOptions: GatewayOptions
    @Flag(name: .customLong("allow-tls12"), help: "Also accept agents limited to TLS 1.2 (default: TLS 1.3 only).")
    var allowTLS12 = false

    func run() async throws {
        let logger = try logging.makeLogger(label: "streamswarm.server")
        let (host, port) = try parseHostPort(listen, option: "--listen")
        var configuration = MeshServer.Configuration(
            tls: MeshTLSMaterial(certificate: .file(cert), privateKey: .file(key), trustRoots: .file(ca))
        )
        configuration.host = host
        configuration.port = port
        configuration.revocationListPath = revoked.isEmpty ? nil : revoked
        configuration.allowTLS12 = allowTLS12
        configuration.heartbeatInterval = try parseDuration(heartbeatInterval, option: "--heartbeat-interval")
        guard maxFrameBytes >= 1024 else { throw ValidationError("--max-frame-bytes \(maxFrameBytes) is below 1024") }
        configuration.maxFrameBytes = maxFrameBytes
        configuration.maxInFlightBatches = max(1, maxInFlightBatches)
        configuration.serverVersion = StreamSwarm.version
        if let advertise {
            let (host, port) = try parseHostPort(advertise, option: "--advertise")
            configuration.advertisedAddress = ServerAddress(host: host, port: port).description
        }
        let location = try store.location
        let backend = try store.open(logger: logger)
        let responderKey = try await SwarmResponderKey.load(from: backend, logger: logger)
        configuration.responderKey = responderKey
        configuration.deviceVault = try deviceKey.load()
        if let vault = configuration.deviceVault {
            logger.info("device key \(vault.keyID) loaded: device credentials can be handed to agents")
        } else {
            logger.notice(
                "no device key (--device-key-file or SWARM_DEVICE_KEY): devices with credentials cannot be collected"
            )
        }
        let responderService = try responders.service(keyring: ResponderKeyring(responderKey), logger: logger)
        let (meshReady, meshUp) = ReadinessCheck.flag("mesh", notYet: "the mesh listener on \(listen) is not up yet")
        let server = try MeshServer(configuration: configuration, store: backend, logger: logger) { _ in meshUp.set() }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: backend), .init(service: server),
            // One server at a time runs each of these (a lease in the store; another takes over
            // within 15 s when the holder dies).
            .init(
                service: SingletonJob(
                    name: "recurrence",
                    holder: configuration.serverID,
                    store: backend,
                    logger: logger
                ) {
                    try await RecurrenceScheduler(store: backend, logger: logger).run()
                }
            ),
            .init(
                service: SingletonJob(name: "retention", holder: configuration.serverID, store: backend, logger: logger)
                {
                    try await RetentionJob(store: backend, logger: logger).run()
                }
            ),
            .init(
                service: SingletonJob(name: "alerting", holder: configuration.serverID, store: backend, logger: logger)
                {
                    try await Alerting.run(store: backend, logger: logger)
                }
            ),
            .init(
                service: SingletonJob(name: "reports", holder: configuration.serverID, store: backend, logger: logger) {
                    try await ReportScheduler(store: backend, logger: logger).run()
                }
            ),
        ]
        if !http.isEmpty {
            let (httpHost, httpPort) = try parseHostPort(http, option: "--http")
            var gateway = Gateway.Configuration(host: httpHost, port: httpPort, secureCookies: secureCookies)
            try gatewayOptions.apply(to: &gateway)
            gateway.deviceVault = configuration.deviceVault
            gateway.version = StreamSwarm.version
            gateway.readiness = [meshReady]
            services.append(.init(service: Gateway(configuration: gateway, store: backend, logger: logger)))
            if try await backend.users().isEmpty {
                logger.notice(
                    "no users yet: create the first admin with 'streamswarm users create --admin --username NAME --db \(location)'"
                )
            }
        }
        logger.info(
            "starting mesh server",
            metadata: [
                "swarm.db": "\(location)", "swarm.listen": "\(listen)", "swarm.ca": "\(ca)",
                "swarm.heartbeat": "\(configuration.heartbeatInterval)",
            ]
        )
        let group = ServiceGroup(
            configuration: .init(
                services: services
                    + (responderService.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
