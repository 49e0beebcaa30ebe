import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SwarmCore
import SwarmProbes
import UnixSignals

/// `streamswarm responder`: the UDP echo and bandwidth responders on their own, for hosts that are
/// measured against but run no agent. Servers and agents run the same responders themselves.
struct ResponderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "responder",
        abstract: "Run the UDP echo and bandwidth responders (swarm members only, by the responder key)."
    )

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Address to listen on ('::' also takes IPv4).") var bind: String = "::"
    @Option(help: "UDP echo port (0 = off).") var udpPort: Int = UDPEchoResponder.defaultPort
    @Option(help: "Bandwidth port (0 = off).") var bandwidthPort: Int = BandwidthResponder.defaultPort
    @Option(help: "File holding the swarm's responder key as hex (or set STREAMSWARM_RESPONDER_KEY).")
    var keyFile: String?
    @Option(help: "Write a new random key to this file (mode 0600) and exit.") var generateKey: String?

    func run() async throws {
        if let path = generateKey {
            guard !FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("\(path) exists; refusing to overwrite a key (delete it first to rotate)")
            }
            let created = FileManager.default.createFile(
                atPath: path,
                contents: Data((ResponderKey.random().hex + "\n").utf8),
                attributes: [.posixPermissions: 0o600]
            )
            guard created else { throw ValidationError("cannot write \(path)") }
            print("wrote a new responder key to \(path)")
            return
        }
        let logger = try logging.makeLogger(label: "streamswarm.responder")
        guard let key = try ResponderKeyOptions.load(file: keyFile) else {
            throw ValidationError(
                "no responder key: pass --key-file (make one with --generate-key FILE) or set STREAMSWARM_RESPONDER_KEY"
            )
        }
        let keyring = ResponderKeyring(key)
        let service = ResponderService(
            udp: udpPort > 0 ? try UDPEchoResponder(host: bind, port: udpPort, keyring: keyring, logger: logger) : nil,
            bandwidth: bandwidthPort > 0
                ? try BandwidthResponder(host: bind, port: bandwidthPort, keyring: keyring, logger: logger) : nil,
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}
