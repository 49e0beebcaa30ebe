/// How an agent reaches one managed device over gNMI: address, TLS trust, credentials and what to
/// subscribe to. The server builds it from its device inventory when it hands out the assignment;
/// it is never stored in a test (credentials stay sealed in the inventory).
public struct GNMIConnection: Sendable, Hashable, Codable {
    /// The three ways real deployments authenticate a collector.
    public enum Auth: String, Sendable, Hashable, Codable, CaseIterable {
        /// Username and password in RPC metadata over server-verified TLS.
        case password
        /// A client certificate (mutual TLS).
        case certificate
        /// A client certificate and username/password.
        case certificateAndPassword = "certificate+password"

        public var needsPassword: Bool { self != .certificate }
        public var needsCertificate: Bool { self != .password }
    }

    /// STREAM keeps one subscription open; POLL asks every `pollInterval`; ONCE reconnects per report.
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable { case stream, poll, once }

    public enum Encoding: String, Sendable, Hashable, Codable, CaseIterable {
        case jsonIETF = "json_ietf"
        case json, proto, ascii, bytes
    }

    public var name: String
    public var address: String
    public var port: Int
    public var auth: Auth
    public var username: String
    public var password: String
    public var clientCertificatePEM: String
    public var clientKeyPEM: String
    /// CA that signed the device certificate; empty uses the system trust store.
    public var caCertificatePEM: String
    /// Name to verify the device certificate against (and send as SNI) instead of `address`.
    public var serverName: String
    /// Operator-chosen: trust exactly this self-signed device certificate instead of a CA.
    public var pinnedCertificatePEM: String
    public var subscriptions: [GNMISubscription]
    public var mode: Mode
    public var encoding: Encoding
    public var pollInterval: Duration

    public init(
        name: String = "",
        address: String,
        port: Int,
        auth: Auth = .password,
        username: String = "",
        password: String = "",
        clientCertificatePEM: String = "",
        clientKeyPEM: String = "",
        caCertificatePEM: String = "",
        serverName: String = "",
        pinnedCertificatePEM: String = "",
        subscriptions: [GNMISubscription] = GNMISubscription.defaultSet,
        mode: Mode = .stream,
        encoding: Encoding = .jsonIETF,
        pollInterval: Duration = .seconds(10)
    ) {
        self.name = name
        self.address = address
        self.port = port
        self.auth = auth
        self.username = username
        self.password = password
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.caCertificatePEM = caCertificatePEM
        self.serverName = serverName
        self.pinnedCertificatePEM = pinnedCertificatePEM
        self.subscriptions = subscriptions
        self.mode = mode
        self.encoding = encoding
        self.pollInterval = pollInterval
    }

    /// `name@address:port` for logs; never includes credentials.
    public var label: String {
        let host = address.contains(":") ? "[\(address)]" : address
        return name.isEmpty ? "\(host):\(port)" : "\(name) (\(host):\(port))"
    }
}

/// One gNMI subscription (gNMI spec §3.5.1.5.2).
public struct GNMISubscription: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        case targetDefined = "target-defined"
        case onChange = "on-change"
        case sample
    }

    /// `/interfaces/interface[name=*]/state/counters`, optionally prefixed `origin:`.
    public var path: String
    public var mode: Mode
    public var sampleInterval: Duration
    /// ON_CHANGE (and SAMPLE with suppressRedundant): re-send unchanged values this often.
    public var heartbeatInterval: Duration
    public var suppressRedundant: Bool

    public init(
        path: String,
        mode: Mode = .sample,
        sampleInterval: Duration = .seconds(10),
        heartbeatInterval: Duration = .zero,
        suppressRedundant: Bool = false
    ) {
        self.path = path
        self.mode = mode
        self.sampleInterval = sampleInterval
        self.heartbeatInterval = heartbeatInterval
        self.suppressRedundant = suppressRedundant
    }

    /// The OpenConfig paths the `gnmi` measurement maps: interface counters, status and speed, CPU,
    /// memory and output queues. Counters are sampled every 10 s; status is on change with a
    /// 60 s heartbeat so a quiet device still proves it is alive.
    public static let defaultSet: [GNMISubscription] = [
        GNMISubscription(path: "/interfaces/interface/state/counters", sampleInterval: .seconds(10)),
        GNMISubscription(
            path: "/interfaces/interface/state/oper-status",
            mode: .onChange,
            sampleInterval: .zero,
            heartbeatInterval: .seconds(60)
        ),
        GNMISubscription(
            path: "/interfaces/interface/ethernet/state/port-speed",
            mode: .onChange,
            sampleInterval: .zero,
            heartbeatInterval: .seconds(60)
        ),
        GNMISubscription(path: "/components/component/cpu/utilization/state/instant", sampleInterval: .seconds(10)),
        GNMISubscription(path: "/system/memory/state", sampleInterval: .seconds(10)),
        GNMISubscription(path: "/qos/interfaces/interface/output/queues/queue/state", sampleInterval: .seconds(10)),
    ]
}

/// What a device reported over one report interval, mapped from OpenConfig paths.
public struct GNMISnapshot: Sendable, Hashable {
    public struct Interface: Sendable, Hashable {
        public var name: String
        public var inOctets: UInt64 = 0
        public var outOctets: UInt64 = 0
        public var inPackets: UInt64 = 0
        public var outPackets: UInt64 = 0
        public var inErrors: UInt64 = 0
        public var outErrors: UInt64 = 0
        public var inDiscards: UInt64 = 0
        public var outDiscards: UInt64 = 0
        public var inFCSErrors: UInt64 = 0
        public var carrierTransitions: UInt64 = 0
        /// Rates over the report interval; nil for the first interval and after a counter reset.
        public var inBitsPerSecond: Double?
        public var outBitsPerSecond: Double?
        public var inUtilisationPercent: Double?
        public var outUtilisationPercent: Double?
        public var operStatus: String = ""
        public var speedBitsPerSecond: UInt64?
        public init(name: String) { self.name = name }
    }

    public struct Queue: Sendable, Hashable {
        public var interface: String
        public var queue: String
        public var transmittedPackets: UInt64 = 0
        public var droppedPackets: UInt64 = 0
        public init(interface: String, queue: String) {
            self.interface = interface
            self.queue = queue
        }
    }

    public struct Capabilities: Sendable, Hashable {
        public struct Model: Sendable, Hashable {
            public var name: String
            public var organization: String
            public var version: String
            public init(name: String, organization: String, version: String) {
                self.name = name
                self.organization = organization
                self.version = version
            }
        }
        public var models: [Model]
        public var encodings: [String]
        public var version: String
        public init(models: [Model] = [], encodings: [String] = [], version: String = "") {
            self.models = models
            self.encodings = encodings
            self.version = version
        }
    }

    public var deviceID: Int64
    public var deviceName: String
    public var deviceAddress: String
    public var interfaces: [Interface] = []
    public var cpuPercent: Double?
    public var memoryUsedBytes: UInt64?
    public var memoryTotalBytes: UInt64?
    public var queues: [Queue] = []
    /// Capabilities RPC round trip at the last connect.
    public var rpcLatency: Duration?
    /// The newest notification timestamp the device sent.
    public var deviceTimestamp: Timestamp?
    /// Leaf updates folded into this snapshot.
    public var updates: Int = 0
    /// Set in the first snapshot after each connect.
    public var capabilities: Capabilities?
    /// The failure class when the run failed (``GNMIFailureKind`` raw value), else empty.
    public var errorKind: String = ""

    public init(deviceID: Int64, deviceName: String = "", deviceAddress: String) {
        self.deviceID = deviceID
        self.deviceName = deviceName
        self.deviceAddress = deviceAddress
    }
}

/// The gNMI collection a test asks for: which inventory device, and (in assignments only) how to
/// reach it.
public struct GNMIOptions: Sendable, Hashable, Codable {
    public var deviceID: Int64
    /// Filled by the server when it hands out the assignment; nil in stored tests.
    public var connection: GNMIConnection?
    /// Why the server could not fill `connection` (device removed, no device key…); assignments only.
    public var unavailableReason: String
    public init(deviceID: Int64 = 0, connection: GNMIConnection? = nil, unavailableReason: String = "") {
        self.deviceID = deviceID
        self.connection = connection
        self.unavailableReason = unavailableReason
    }
}

/// The sealed part of a device: what must never be stored or shown in the clear.
public struct DeviceSecrets: Sendable, Hashable, Codable {
    public var password: String
    public var clientKeyPEM: String
    public init(password: String = "", clientKeyPEM: String = "") {
        self.password = password
        self.clientKeyPEM = clientKeyPEM
    }
}
