import ArgumentParser
import Logging
import ServiceLifecycle
import SwarmAgent
import SwarmPKI
import UnixSignals

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run an agent: measures on the server's schedule and reports over mutual TLS."
    )

    @OptionGroup var logging: LoggingOptions

    @Option(
        help: "Server mesh address HOST:PORT, or several (A:7443,B:7443): tried in order, failing over to the next."
    )
    var server: String = "127.0.0.1:7443"
    @Option(
        name: .customLong("server-name"),
        help: "Name to verify in every server's certificate (default: each server's host)."
    )
    var serverName: String?
    @Option(help: "Swarm CA certificate (PEM).")
    var ca: String = "certs/ca.pem"
    @Option(help: "This agent's certificate (PEM); its CN is the agent's name.")
    var cert: String
    @Option(help: "This agent's private key (PEM).")
    var key: String
    @Option(help: "Spool file: measurements wait here until the server acknowledges them.")
    var spool: String = "data/agent-spool.sqlite"
    @OptionGroup(title: "Responders") var responders: ResponderOptions
    @Option(
        name: .customLong("responder-advertise"),
        help:
            "Address other agents use to reach this agent's responders (default: the address this agent reaches the server from)."
    )
    var responderAdvertise: String = ""
    @Option(name: .customLong("reconnect-cap"), help: "Longest wait between reconnect attempts (full jitter below it).")
    var reconnectCap: String = "30s"

    func run() async throws {
        let logger = try logging.makeLogger(label: "streamswarm.agent")
        let servers = try server.split(separator: ",").map { item in
            let (host, port) = try parseHostPort(String(item.filter { !$0.isWhitespace }), option: "--server")
            return ServerAddress(host: host, port: port)
        }
        guard !servers.isEmpty else { throw ValidationError("--server needs at least one HOST:PORT") }
        var configuration = AgentSession.Configuration(
            tls: MeshTLSMaterial(certificate: .file(cert), privateKey: .file(key), trustRoots: .file(ca))
        )
        configuration.servers = servers
        configuration.serverName = serverName
        configuration.spoolPath = spool
        configuration.reconnectCap = try parseDuration(reconnectCap, option: "--reconnect-cap")
        configuration.reconnectBase = min(configuration.reconnectBase, configuration.reconnectCap)
        configuration.agentVersion = StreamSwarm.version
        configuration.responder = responders.endpoint(advertise: responderAdvertise)
        let responderService = try responders.service(keyring: configuration.keyring, logger: logger)
        let agent = try AgentSession(configuration: configuration, logger: logger)
        logger.info("starting agent", metadata: ["swarm.server": "\(server)", "swarm.spool": "\(spool)"])
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: agent)]
                    + (responderService.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
