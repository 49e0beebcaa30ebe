import ArgumentParser
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SwarmAgent
import SwarmAlerting
import SwarmCore
import SwarmGateway
import SwarmPKI
import SwarmProbes
import SwarmReports
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import UnixSignals

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Try it in one command: server and a local agent in one process on loopback, SQLite under ./data."
    )

    @OptionGroup var logging: LoggingOptions
    @OptionGroup(title: "Responders") var responders: ResponderOptions
    @OptionGroup(title: "Devices") var deviceKey: DeviceKeyOptions
    @OptionGroup(title: "Gateway limits") var gatewayOptions: GatewayOptions

    @Option(help: "Data directory (database, spool, development certificates).")
    var data: String = "data"
    @Option(name: .customLong("mesh-port"), help: "Mesh port on 127.0.0.1.")
    var meshPort: Int = 7443
    @Option(name: .customLong("heartbeat-interval"), help: "Heartbeat interval.")
    var heartbeatInterval: String = "5s"
    @Option(name: .customLong("http-port"), help: "Web UI and JSON API port on 127.0.0.1.")
    var httpPort: Int = 8080
    @Option(
        name: .customLong("c-agent"),
        help: "Also run the C agent (the swarm-agent-c binary at this path) as agent 'c-agent' beside the local one."
    )
    var cAgent: String?

    func run() async throws {
        let logger = try logging.makeLogger(label: "streamswarm.dev")
        let certs = try DevelopmentCertificates.ensure(directory: "\(data)/certs", logger: logger)
        if let cAgent { try DevCAgent.prepare(binary: cAgent, certs: "\(data)/certs", logger: logger) }
        let store = try SQLiteStore(configuration: .init(path: "\(data)/streamswarm.sqlite"), logger: logger)
        let local = AgentName("local").map { [$0] } ?? []
        if try await store.tests().isEmpty {
            var spec = TestSpec(name: "local system", probes: [.system], schedule: .init(interval: .seconds(30)))
            spec.options.system = .init(perCore: true, perProcessSummary: true)
            let test = try await store.createTest(spec, agents: local)
            logger.info("created test \(test.id) 'local system' (system probe every 30 s) for the local agent")
        }

        if cAgent != nil { try await DevCAgent.ensureTests(store: store, logger: logger) }

        // Dev mode binds loopback only, so it may print a fresh admin password on every start.
        let devPassword = try await DevAdmin.reset(store: store, hasher: PasswordHasher(cost: 10), logger: logger)
        let vault = try DevDeviceKey.ensure(options: deviceKey, data: data, logger: logger)
        var gatewayConfiguration = Gateway.Configuration(host: "127.0.0.1", port: httpPort)
        try gatewayOptions.apply(to: &gatewayConfiguration)
        gatewayConfiguration.deviceVault = vault
        gatewayConfiguration.version = StreamSwarm.version
        let (meshReady, meshUp) = ReadinessCheck.flag(
            "mesh",
            notYet: "the mesh listener on 127.0.0.1:\(meshPort) is not up yet"
        )
        gatewayConfiguration.readiness = [meshReady]
        let gateway = Gateway(configuration: gatewayConfiguration, store: store, logger: logger)

        var serverConfiguration = MeshServer.Configuration(tls: certs.server)
        serverConfiguration.host = "127.0.0.1"
        serverConfiguration.port = meshPort
        serverConfiguration.revocationListPath = "\(data)/certs/revoked.txt"
        serverConfiguration.heartbeatInterval = try parseDuration(heartbeatInterval, option: "--heartbeat-interval")
        serverConfiguration.serverVersion = StreamSwarm.version
        let responderKey = try await SwarmResponderKey.load(from: store, logger: logger)
        serverConfiguration.responderKey = responderKey
        serverConfiguration.deviceVault = vault
        // why: one host, so only the server's responders run; the local agent measures them at 127.0.0.1.
        let responderService = try responders.service(keyring: ResponderKeyring(responderKey), logger: logger)
        let db = "\(data)/streamswarm.sqlite"
        let server = try MeshServer(configuration: serverConfiguration, store: store, logger: logger) { address in
            meshUp.set()
            let port = address.port ?? 0
            print(
                """

                StreamSwarm dev mode is running.
                  mesh server   127.0.0.1:\(port) (mutual TLS, certificates in \(data)/certs)
                  responders    udp echo :\(responders.udpPort), bandwidth :\(responders.bandwidthPort) (swarm key only; 0 = off)
                  database      \(db)
                  local agent   "local", spool \(data)/agent-local-spool.sqlite\(cAgent == nil ? "" : "\n                  C agent       \"c-agent\" (\(cAgent ?? "")), spool \(data)/agent-c-spool")
                  web UI        http://127.0.0.1:\(httpPort)  (sign in as admin / \(devPassword), reset each dev start)

                Next, in another terminal:
                  .build/debug/streamswarm agents list --db \(db)
                  .build/debug/streamswarm tests create --db \(db) --name web --kind tcp --target 127.0.0.1:\(port) --agent local --interval 10s
                  .build/debug/streamswarm tests list --db \(db)
                  .build/debug/streamswarm results show 1 --db \(db)
                  .build/debug/streamswarm devices add --db \(db) --device-key-file \(data)/device.key --name r1 --address ADDR --port PORT --auth password --username U --password-stdin --agent local
                Stop with Ctrl-C (the agent's unsent measurements stay in its spool).

                """
            )
            fflush(nil)  // nil flushes every stream; stdout itself is not concurrency-safe to name
        }
        var agentConfiguration = AgentSession.Configuration(tls: certs.agent)
        agentConfiguration.serverHost = "127.0.0.1"
        agentConfiguration.serverPort = meshPort
        agentConfiguration.serverName = "localhost"
        agentConfiguration.spoolPath = "\(data)/agent-local-spool.sqlite"
        agentConfiguration.agentVersion = StreamSwarm.version
        let agent = try AgentSession(configuration: agentConfiguration, logger: logger)
        // why: a C agent that dies must not stop dev mode; it says so in the log.
        let cAgentService = cAgent.map {
            ServiceGroupConfiguration.ServiceConfiguration(
                service: DevCAgent(binary: $0, data: data, meshPort: meshPort, logger: logger),
                successTerminationBehavior: .ignore,
                failureTerminationBehavior: .ignore
            )
        }

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: store), .init(service: server),
                    .init(service: RecurrenceScheduler(store: store, logger: logger)),
                    .init(service: RetentionJob(store: store, logger: logger)),
                    .init(service: AlertingService(store: store, logger: logger)),
                    .init(service: ReportSchedulerService(store: store, logger: logger)), .init(service: gateway),
                    .init(service: agent),
                ] + (responderService.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? [])
                    + (cAgentService.map { [$0] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

/// The certificates `dev` provisions on first run under `data/certs`, in the layout of
/// `scripts/provision-certs.sh`.
enum DevelopmentCertificates {
    struct Material {
        var server: MeshTLSMaterial
        var agent: MeshTLSMaterial
    }

    static func ensure(directory: String, logger: Logger) throws -> Material {
        let files = FileManager.default
        let ca = "\(directory)/ca.pem"
        let server = MeshTLSMaterial(
            certificate: .file("\(directory)/server.pem"),
            privateKey: .file("\(directory)/server.key"),
            trustRoots: .file(ca)
        )
        let agent = MeshTLSMaterial(
            certificate: .file("\(directory)/agents/local.pem"),
            privateKey: .file("\(directory)/agents/local.key"),
            trustRoots: .file(ca)
        )
        if files.fileExists(atPath: ca) { return Material(server: server, agent: agent) }
        try files.createDirectory(atPath: "\(directory)/agents", withIntermediateDirectories: true)
        let authority = try CertificateAuthority(commonName: "StreamSwarm development CA")
        let serverCertificate = try authority.issueServer()
        let agentCertificate = try authority.issueAgent("local")
        try write(authority.certificatePEM, to: ca, mode: 0o644)
        try write(authority.privateKeyPEM, to: "\(directory)/ca.key", mode: 0o600)
        try write(serverCertificate.certificatePEM, to: "\(directory)/server.pem", mode: 0o644)
        try write(serverCertificate.privateKeyPEM, to: "\(directory)/server.key", mode: 0o600)
        try write(agentCertificate.certificatePEM, to: "\(directory)/agents/local.pem", mode: 0o644)
        try write(agentCertificate.privateKeyPEM, to: "\(directory)/agents/local.key", mode: 0o600)
        if !files.fileExists(atPath: "\(directory)/revoked.txt") {
            try write("# revoked certificate serials, one per line\n", to: "\(directory)/revoked.txt", mode: 0o644)
        }
        logger.info(
            "provisioned development certificates in \(directory): CA, server (localhost, 127.0.0.1, ::1), agent 'local'"
        )
        return Material(server: server, agent: agent)
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        guard
            FileManager.default.createFile(
                atPath: path,
                contents: Data(text.utf8),
                attributes: [.posixPermissions: mode]
            )
        else {
            throw ValidationError("cannot write \(path): check that the data directory is writable")
        }
    }
}

/// Dev mode's device key: --device-key-file / SWARM_DEVICE_KEY when given, else `data/device.key`,
/// made on first start (mode 0600) so `devices add` works at once.
enum DevDeviceKey {
    static func ensure(options: DeviceKeyOptions, data: String, logger: Logger) throws -> DeviceVault {
        if let vault = try options.load() { return vault }
        let path = "\(data)/device.key"
        if FileManager.default.fileExists(atPath: path) {
            return try DeviceVault(base64: String(contentsOfFile: path, encoding: .utf8))
        }
        let vault = try DeviceVault.createKeyFile(at: path)
        logger.info("made the device key \(path) (id \(vault.keyID)); 'devices add' needs --device-key-file \(path)")
        return vault
    }
}
