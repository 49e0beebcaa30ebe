import ArgumentParser
import Logging
import SwarmCore
import SwarmProbes
import SwarmStore

/// Responder settings for `server`, `agent` and `dev`.
struct ResponderOptions: ParsableArguments {
    @Option(name: .customLong("responder-bind"), help: "Address the responders listen on ('::' also takes IPv4).")
    var bind: String = "::"
    @Option(name: .customLong("responder-udp-port"), help: "UDP echo responder port (0 = off).")
    var udpPort: Int = UDPEchoResponder.defaultPort
    @Option(name: .customLong("responder-bandwidth-port"), help: "Bandwidth responder port (0 = off).")
    var bandwidthPort: Int = BandwidthResponder.defaultPort

    /// The responders as a service, sharing `keyring`; nil when both are off.
    func service(keyring: ResponderKeyring, logger: Logger) throws -> ResponderService? {
        guard udpPort > 0 || bandwidthPort > 0 else { return nil }
        return ResponderService(
            udp: udpPort > 0 ? try UDPEchoResponder(host: bind, port: udpPort, keyring: keyring, logger: logger) : nil,
            bandwidth: bandwidthPort > 0
                ? try BandwidthResponder(host: bind, port: bandwidthPort, keyring: keyring, logger: logger) : nil,
            logger: logger
        )
    }

    /// What an agent advertises for mesh tests: the ports, with the address left for the session to fill.
    func endpoint(advertise: String) -> ResponderEndpoint? {
        guard udpPort > 0 || bandwidthPort > 0 else { return nil }
        return ResponderEndpoint(address: advertise, udpPort: udpPort, bandwidthPort: bandwidthPort)
    }
}

/// The swarm's responder key lives in the store's settings: made once, the same for every server on
/// that database, and handed to agents in Welcome.
enum SwarmResponderKey {
    static let setting = "responder_key"

    static func load(from store: some SettingsStore, logger: Logger) async throws -> ResponderKey {
        if let text = try await store.setting(setting), let key = ResponderKey(hex: text) { return key }
        let key = ResponderKey.random()
        try await store.setSetting(setting, value: key.hex)
        logger.info("made the swarm's responder key (stored in the database settings; agents receive it on connect)")
        return key
    }
}
