import ArgumentParser
import Dispatch
import Foundation
import SwarmGNMISimulator

/// `swarm-gnmi-target`: the simulated gNMI device as a process, for the network lab (a device inside a
/// namespace) and the collector benchmark (hundreds of devices). Not a product: a test peer.
@main
struct GNMITargetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm-gnmi-target",
        abstract: "Simulated gNMI devices (OpenConfig counters that move) for tests and benchmarks."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "First port; device n listens on port + n.") var port: Int
    @Option(help: "How many devices to run.") var count = 1
    @Option(help: "PEM certificate (omit for a plaintext target).") var cert: String?
    @Option(help: "PEM private key.") var key: String?
    @Option(name: .customLong("client-ca"), help: "Require client certificates signed by this CA (mTLS).")
    var clientCA: String?
    @Option(help: "Required username (with --password-file).") var username: String?
    @Option(name: .customLong("password-file"), help: "File holding the required password.") var passwordFile: String?
    @Option(help: "Interfaces per device.") var interfaces = 2
    @Option(name: .customLong("counters-per-interface"), help: "Counters per interface (1–18).")
    var countersPerInterface = 18
    @Option(name: .customLong("bits-per-second"), help: "Rate the octet counters grow at.") var bitsPerSecond =
        80_000_000.0
    @Option(
        name: .customLong("stats-interval"),
        help: "Print 'updates_sent N UNIX_NANOS' every this many seconds (0: never)."
    )
    var statsInterval = 0.0

    func run() async throws {
        let security: SimulatedGNMIDevice.Security
        if let cert, let key {
            security = .tls(
                certificatePEM: try String(contentsOfFile: cert, encoding: .utf8),
                keyPEM: try String(contentsOfFile: key, encoding: .utf8),
                clientCA: try clientCA.map { try String(contentsOfFile: $0, encoding: .utf8) }
            )
        } else {
            security = .plaintext
        }
        var credentials: (username: String, password: String)?
        if let username, let passwordFile {
            let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
            credentials = (username, password)
        }
        var targets: [SimulatedGNMIDevice] = []
        for n in 0..<count {
            var settings = SimulatedGNMIDevice.Settings(security: security, credentials: credentials)
            settings.interfaces = interfaces
            settings.countersPerInterface = max(1, min(18, countersPerInterface))
            settings.bitsPerSecond = bitsPerSecond
            let target = SimulatedGNMIDevice(settings, host: host)
            try await target.start(port: port + n)
            targets.append(target)
        }
        // SIGTERM: stop serving (open streams end), then print the final count, so a benchmark can
        // compare every update sent with every update ingested.
        signal(SIGTERM, SIG_IGN)
        let terminate = DispatchSource.makeSignalSource(signal: SIGTERM)
        let all = targets
        terminate.setEventHandler {
            Task {
                // Stop sending first and let what was written reach the collector, so the final
                // count is what was delivered, then close.
                for target in all { target.goSilent() }
                try? await Task.sleep(for: .seconds(2))
                for target in all { await target.stop() }
                print("updates_sent_total \(all.reduce(0) { $0 + $1.updatesSent })")
                fflush(nil)
                Foundation.exit(0)
            }
        }
        terminate.resume()
        print("listening: \(count) device(s) on \(host):\(port)...\(port + count - 1)")
        fflush(nil)
        while true {
            try await Task.sleep(for: .seconds(statsInterval > 0 ? statsInterval : 3600))
            if statsInterval > 0 {
                // The count and when it was read (ns since the epoch), so a reader can take a rate.
                let now = Int64(Date().timeIntervalSince1970 * 1e9)
                print("updates_sent \(targets.reduce(0) { $0 + $1.updatesSent }) \(now)")
                fflush(nil)
            }
        }
    }
}
