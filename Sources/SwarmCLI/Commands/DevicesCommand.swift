import ArgumentParser
import Foundation
import Logging
import SwarmAnalytics
import SwarmCore
import SwarmGNMI
import SwarmGNMIProto
import SwarmGateway
import SwarmPKI
import SwarmServer
import SwarmStore

/// Where the device key comes from: `--device-key-file`, else `SWARM_DEVICE_KEY`.
struct DeviceKeyOptions: ParsableArguments {
    @Option(
        name: .customLong("device-key-file"),
        help: ArgumentHelp(
            "File with the 32-byte device key in base64 that seals device credentials (env SWARM_DEVICE_KEY).",
            discussion: "Make one with: head -c 32 /dev/urandom | base64 > device.key; chmod 600 device.key"
        )
    )
    var path: String?

    func load() throws -> DeviceVault? {
        do {
            return try DeviceVault.load(keyFile: path, environment: ProcessInfo.processInfo.environment)
        } catch let error as PKIError {
            throw ValidationError(error.message)
        }
    }
}

struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Manage gNMI devices (routers, switches) that agents collect telemetry from.",
        subcommands: [Add.self, List.self, Show.self, Get.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a device and assign it to agents; they start collecting at once.",
            discussion: """
                gNMI ports differ by vendor and are never assumed: 9339 (IANA, Cisco IOS XE, Cumulus), 57400 \
                (Cisco IOS XR, Nokia), 6030 (Arista EOS), 32767 (Juniper), 50051 (Cisco NX-OS).
                The password is read from the first line of standard input (--password-stdin) or a file, and the \
                client key from a file; both are sealed with the device key and never printed.
                """
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @OptionGroup var key: DeviceKeyOptions
        @Option(help: "A unique name for the device.") var name: String
        @Option(help: "Management address the agent dials.") var address: String
        @Option(help: "gNMI port (see above; required).") var port: Int
        @Option(help: "password, certificate or certificate+password.") var auth: String = "password"
        @Option(help: "Username sent in gNMI metadata.") var username: String = ""
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.")
        var passwordStdin = false
        @Option(name: .customLong("password-file"), help: "Read the password from this file.") var passwordFile: String?
        @Option(name: .customLong("client-cert"), help: "PEM client certificate (certificate auth).") var clientCert:
            String?
        @Option(name: .customLong("client-key"), help: "PEM client private key (certificate auth).") var clientKey:
            String?
        @Option(help: "PEM CA certificate(s) that signed the device certificate (default: system trust).") var ca:
            String?
        @Option(name: .customLong("server-name"), help: "Name to verify the device certificate against.")
        var serverName: String = ""
        @Option(
            name: .customLong("pin-cert"),
            help:
                "Trust exactly this self-signed device certificate (PEM) instead of a CA. Logged as an operator choice."
        )
        var pinCert: String?
        @Option(
            name: .customLong("interface-address"),
            help: "Another address of the device (repeat): traceroute hops through it are correlated."
        )
        var interfaceAddresses: [String] = []
        @Option(name: .customLong("path"), help: "SAMPLE subscription path (repeat); default: the OpenConfig set.")
        var samplePaths: [String] = []
        @Option(name: .customLong("on-change"), help: "ON_CHANGE subscription path (repeat).") var onChangePaths:
            [String] = []
        @Option(name: .customLong("sample-interval"), help: "Sample interval for --path.") var sampleInterval = "10s"
        @Option(name: .customLong("heartbeat"), help: "Heartbeat for --on-change paths (0 for none).") var heartbeat =
            "60s"
        @Option(help: "stream, poll or once.") var mode = "stream"
        @Option(help: "json_ietf, json, proto, ascii or bytes.") var encoding = "json_ietf"
        @Option(name: .customLong("poll-interval"), help: "Poll interval in poll mode.") var pollInterval = "10s"
        @Option(name: .customLong("report-interval"), help: "One stored gnmi result per this interval.")
        var reportInterval = "10s"
        @Option(name: .customLong("agent"), help: "Agent that collects from the device (repeat).") var agents:
            [String] = []

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.devices")
            guard let auth = GNMIConnection.Auth(rawValue: auth) else {
                throw ValidationError("--auth \(auth) is not one of password, certificate, certificate+password")
            }
            guard let mode = GNMIConnection.Mode(rawValue: mode) else {
                throw ValidationError("--mode \(mode) is not one of stream, poll, once")
            }
            guard let encoding = GNMIConnection.Encoding(rawValue: encoding) else {
                throw ValidationError("--encoding \(encoding) is not one of json_ietf, json, proto, ascii, bytes")
            }
            var secrets = DeviceSecrets()
            if auth.needsPassword {
                if passwordStdin {
                    guard let line = readLine(strippingNewline: true) else {
                        throw ValidationError("--password-stdin: standard input was empty")
                    }
                    secrets.password = line
                } else if let passwordFile {
                    secrets.password = try readText(passwordFile, option: "--password-file")
                        .trimmingCharacters(in: .newlines)
                } else {
                    throw ValidationError("auth \(auth.rawValue) needs a password: --password-stdin or --password-file")
                }
            }
            var clientCertificate = ""
            if auth.needsCertificate {
                guard let clientCert, let clientKey else {
                    throw ValidationError("auth \(auth.rawValue) needs --client-cert and --client-key")
                }
                clientCertificate = try readText(clientCert, option: "--client-cert")
                secrets.clientKeyPEM = try readText(clientKey, option: "--client-key")
            }
            var sealed = Data()
            if secrets != DeviceSecrets() {
                guard let vault = try key.load() else {
                    throw ValidationError(
                        "device credentials are sealed with the device key: give --device-key-file FILE or set "
                            + "SWARM_DEVICE_KEY (the server needs the same key)"
                    )
                }
                sealed = try vault.seal(secrets, for: name)
            }
            let sample = try parseDuration(sampleInterval, option: "--sample-interval")
            let beat = try parseDuration(heartbeat, option: "--heartbeat")
            var subscriptions =
                samplePaths.map { GNMISubscription(path: $0, sampleInterval: sample) }
                + onChangePaths.map {
                    GNMISubscription(path: $0, mode: .onChange, sampleInterval: .zero, heartbeatInterval: beat)
                }
            if subscriptions.isEmpty { subscriptions = GNMISubscription.defaultSet }
            let names = try agents.map { text in
                guard let name = AgentName(text) else {
                    throw ValidationError("--agent \(text) is not a valid agent name")
                }
                return name
            }
            let record = DeviceRecord(
                name: name,
                address: address,
                port: port,
                interfaceAddresses: interfaceAddresses,
                auth: auth,
                username: username,
                sealedSecrets: sealed,
                clientCertificatePEM: clientCertificate,
                caCertificatePEM: try ca.map { try readText($0, option: "--ca") } ?? "",
                serverName: serverName,
                pinnedCertificatePEM: try pinCert.map { try readText($0, option: "--pin-cert") } ?? "",
                subscriptions: subscriptions,
                mode: mode,
                encoding: encoding,
                pollInterval: try parseDuration(pollInterval, option: "--poll-interval"),
                reportInterval: try parseDuration(reportInterval, option: "--report-interval"),
                agents: names
            )
            let stored: DeviceRecord
            do {
                stored = try await store.open(logger: logger).createDevice(record)
            } catch let error as StoreError {
                throw ValidationError(error.message)
            }
            if !record.pinnedCertificatePEM.isEmpty {
                logger.warning(
                    "device \(name) trusts a pinned self-signed certificate instead of a CA (operator choice)"
                )
            }
            print(
                "added device \(stored.id) \(stored.name) (\(stored.address):\(stored.port)), collected by "
                    + "\(stored.agents.map(\.rawValue).joined(separator: ", ")) as test \(stored.testID.map(\.description) ?? "-")"
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List devices with their latest status.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.devices")
            let backend = try store.open(logger: logger)
            let devices = try await backend.devices()
            if devices.isEmpty {
                print("no devices: add one with 'streamswarm devices add --name … --address … --port …'")
            }
            for device in devices {
                let status = try await DeviceReadings(store: backend).newest(device)
                print(
                    "\(device.id)\t\(device.name)\t\(device.address):\(device.port)\t\(device.auth.rawValue)\t"
                        + "\(device.agents.map(\.rawValue).joined(separator: ","))\t\(status.summary)"
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one device: settings (never credentials), status, capabilities."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Device id or name.") var device: String

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.devices")
            let backend = try store.open(logger: logger)
            let found = try await findDevice(device, store: backend)
            let status = try await DeviceReadings(store: backend).latest(found)
            print("device \(found.id) \(found.name)")
            print(
                "  address     \(found.address):\(found.port)\(found.interfaceAddresses.isEmpty ? "" : " (also \(found.interfaceAddresses.joined(separator: ", ")))")"
            )
            print(
                "  auth        \(found.auth.rawValue)\(found.username.isEmpty ? "" : " as \(found.username)"), credentials \(found.sealedSecrets.isEmpty ? "none" : "sealed")"
            )
            print(
                "  trust       \(found.pinnedCertificatePEM.isEmpty ? (found.caCertificatePEM.isEmpty ? "system CAs" : "device CA") : "pinned self-signed certificate")\(found.serverName.isEmpty ? "" : ", server name \(found.serverName)")"
            )
            print(
                "  collection  \(found.mode.rawValue), \(found.encoding.rawValue), report every \(found.reportInterval), test \(found.testID.map(\.description) ?? "-")"
            )
            print("  agents      \(found.agents.map(\.rawValue).joined(separator: ", "))")
            for s in found.subscriptions {
                print(
                    "  subscribe   \(s.mode.rawValue) \(s.path)\(s.mode == .sample ? " every \(s.sampleInterval)" : "")"
                )
            }
            print("  status      \(status.summary)")
            if let caps = status.capabilities {
                print("  gNMI        \(caps.version), encodings \(caps.encodings.joined(separator: ", "))")
                for m in caps.models { print("  model       \(m.name) \(m.version)") }
            }
            if let s = status.snapshot {
                for i in s.interfaces {
                    let rate = [i.inBitsPerSecond, i.outBitsPerSecond].map {
                        $0.map { String(format: "%.1f Mbit/s", $0 / 1e6) } ?? "-"
                    }
                    print(
                        "  interface   \(i.name) \(i.operStatus) in \(rate[0]) out \(rate[1]) errors \(i.inErrors)/\(i.outErrors) discards \(i.inDiscards)/\(i.outDiscards)"
                    )
                }
                if let cpu = s.cpuPercent { print(String(format: "  cpu         %.1f%%", cpu)) }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One-shot gNMI Get from this host: print each leaf under PATH (a diagnostic, like gnmic get).",
            discussion:
                "Dials the device from where this command runs, with the device's stored settings and credentials."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @OptionGroup var key: DeviceKeyOptions
        @Argument(help: "Device id or name.") var device: String
        @Argument(help: "Path, e.g. /interfaces/interface[name=eth0]/state/counters.") var path: String

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.devices")
            let backend = try store.open(logger: logger)
            let found = try await findDevice(device, store: backend)
            let parsed: Gnmi_Path
            do { parsed = try GNMIPath.parse(path) } catch { throw ValidationError(error.message) }
            let connection = try await DeviceTargets.connection(found.id, store: backend, vault: try key.load())
            let response: Gnmi_GetResponse
            do throws(GNMIFailure) {
                response = try await GNMISession.withSession(connection, logger: logger) { session in
                    try await session.get(paths: [parsed], encoding: DeviceCollector.protoEncoding(connection.encoding))
                }
            } catch {
                throw ValidationError(error.message)
            }
            var leaves = 0
            for notification in response.notification {
                for update in notification.update {
                    let full = GNMIPath.format(GNMIPath.join(notification.prefix, update.path))
                    let value = (try? GNMIValue(update.val)).map(Self.text) ?? "(undecodable value)"
                    print("\(full) = \(value)")
                    leaves += 1
                }
            }
            if leaves == 0 { print("no leaves under \(path)") }
        }

        static func text(_ value: GNMIValue) -> String {
            if let t = value.text { return t }
            if let n = value.number { return String(n) }
            return "\(value)"
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a device: its agents stop collecting; its results stay with its test."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Device id or name.") var device: String

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.devices")
            let backend = try store.open(logger: logger)
            let found = try await findDevice(device, store: backend)
            try await backend.deleteDevice(id: found.id)
            print("removed device \(found.id) \(found.name)")
        }
    }
}

/// A device by id or name, or a usage error that says how to list them.
func findDevice(_ idOrName: String, store: any DeviceResultStore) async throws -> DeviceRecord {
    do { return try await DeviceReadings(store: store).find(idOrName) } catch let error as StoreError {
        throw ValidationError(error.message)
    }
}

func readText(_ path: String, option: String) throws -> String {
    do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw ValidationError("\(option) \(path) cannot be read (\(error.localizedDescription))")
    }
}
