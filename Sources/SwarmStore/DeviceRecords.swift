// why: sealed secrets are Foundation Data.
public import Foundation
// why: device records expose SwarmCore types (GNMIConnection settings, AgentName, TestID).
public import SwarmCore

/// A managed device in the inventory. Credentials (password, client private key) are only ever
/// held sealed (`sealedSecrets`, AES-GCM under the operator's device key); the store never sees
/// them in the clear and no API returns them.
public struct DeviceRecord: Sendable, Hashable {
    public var id: Int64
    public var name: String
    /// Management address the collector dials.
    public var address: String
    public var port: Int
    /// Other addresses of the device (its interfaces), so a traceroute hop through any of them
    /// is recognised as this device.
    public var interfaceAddresses: [String]
    public var auth: GNMIConnection.Auth
    public var username: String
    public var sealedSecrets: Data
    public var clientCertificatePEM: String
    public var caCertificatePEM: String
    public var serverName: String
    public var pinnedCertificatePEM: String
    public var subscriptions: [GNMISubscription]
    public var mode: GNMIConnection.Mode
    public var encoding: GNMIConnection.Encoding
    public var pollInterval: Duration
    /// One `gnmi` measurement per device per this interval.
    public var reportInterval: Duration
    public var agents: [AgentName]
    /// The collection test that assigns this device to its agents.
    public var testID: TestID?
    public var createdAt: Timestamp

    public init(
        id: Int64 = 0,
        name: String,
        address: String,
        port: Int,
        interfaceAddresses: [String] = [],
        auth: GNMIConnection.Auth,
        username: String = "",
        sealedSecrets: Data = Data(),
        clientCertificatePEM: String = "",
        caCertificatePEM: String = "",
        serverName: String = "",
        pinnedCertificatePEM: String = "",
        subscriptions: [GNMISubscription] = GNMISubscription.defaultSet,
        mode: GNMIConnection.Mode = .stream,
        encoding: GNMIConnection.Encoding = .jsonIETF,
        pollInterval: Duration = .seconds(10),
        reportInterval: Duration = .seconds(10),
        agents: [AgentName],
        testID: TestID? = nil,
        createdAt: Timestamp = .now()
    ) {
        self.id = id
        self.name = name
        self.address = address
        self.port = port
        self.interfaceAddresses = interfaceAddresses
        self.auth = auth
        self.username = username
        self.sealedSecrets = sealedSecrets
        self.clientCertificatePEM = clientCertificatePEM
        self.caCertificatePEM = caCertificatePEM
        self.serverName = serverName
        self.pinnedCertificatePEM = pinnedCertificatePEM
        self.subscriptions = subscriptions
        self.mode = mode
        self.encoding = encoding
        self.pollInterval = pollInterval
        self.reportInterval = reportInterval
        self.agents = agents
        self.testID = testID
        self.createdAt = createdAt
    }

    /// Every address that identifies this device on a path.
    public var allAddresses: [String] { [address] + interfaceAddresses.filter { $0 != address } }

    /// Checks the record before it is stored.
    public func validate() throws(SpecError) {
        if name.isEmpty || name.count > 100 { throw SpecError("a device needs a name of 1–100 characters") }
        if address.isEmpty { throw SpecError("device \(name) needs an address (--address 192.0.2.1)") }
        if !(1...65535).contains(port) {
            throw SpecError(
                "device port \(port) is out of range; gNMI ports differ by vendor (9339 IANA, 57400 Cisco IOS XR/Nokia, "
                    + "6030 Arista, 32767 Juniper, 50051 Cisco NX-OS): give --port"
            )
        }
        if agents.isEmpty {
            throw SpecError("device \(name) needs at least one agent to collect from it (--agent NAME)")
        }
        if auth.needsPassword && username.isEmpty {
            throw SpecError("auth \(auth.rawValue) needs a username (--username)")
        }
        if auth.needsCertificate && clientCertificatePEM.isEmpty {
            throw SpecError("auth \(auth.rawValue) needs a client certificate (--client-cert FILE)")
        }
        if subscriptions.isEmpty { throw SpecError("device \(name) needs at least one subscription path") }
        if reportInterval < .seconds(1) { throw SpecError("the report interval must be at least 1 s") }
        for s in subscriptions
        where s.mode == .sample && s.sampleInterval > .zero && s.sampleInterval < .milliseconds(100) {
            throw SpecError("sample interval \(s.sampleInterval) for \(s.path) is below the 100 ms minimum")
        }
    }
}
