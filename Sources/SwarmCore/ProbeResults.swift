/// What one probe run produced, before it is encoded for the wire.
///
/// Failed runs still produce an observation: the status and reason say what happened, and the
/// result holds whatever was measured before the failure (often nothing).
public struct ProbeObservation: Sendable, Hashable {
    public var testID: TestID
    public var revision: Int
    public var kind: ProbeKind
    public var startedAt: Timestamp
    public var duration: Duration
    public var status: MeasurementStatus
    public var reason: String
    public var result: ProbeResult?

    public init(
        testID: TestID,
        revision: Int,
        kind: ProbeKind,
        startedAt: Timestamp,
        duration: Duration,
        status: MeasurementStatus,
        reason: String = "",
        result: ProbeResult? = nil
    ) {
        self.testID = testID
        self.revision = revision
        self.kind = kind
        self.startedAt = startedAt
        self.duration = duration
        self.status = status
        self.reason = reason
        self.result = result
    }
}

/// The typed figures of one probe run; one case per probe kind implemented by the agent.
public enum ProbeResult: Sendable, Hashable {
    case icmp(ICMPProbeResult)
    case udp(UDPProbeResult)
    case tcp(TCPProbeResult)
    case dns(DNSProbeResult)
    case http(HTTPProbeResult)
    case traceroute(TracerouteProbeResult)
    case mtu(MTUProbeResult)
    case bandwidth(BandwidthProbeResult)
    case system(SystemSnapshot)
    case gnmi(GNMISnapshot)
}

/// The outcome of a TCP connect.
public enum TCPOutcome: String, Sendable, Hashable, Codable {
    case connected, refused, timeout, unreachable
    case expectMismatch = "expect_mismatch"
    case error
}

/// Fields of Linux `struct tcp_info`, read by name.
public struct TCPInfo: Sendable, Hashable, Codable {
    public var state: UInt32 = 0
    public var retransmits: UInt32 = 0
    public var sndWscale: UInt32 = 0
    public var rcvWscale: UInt32 = 0
    public var ecnNegotiated: Bool = false
    public var rttMicros: UInt32 = 0
    public var rttvarMicros: UInt32 = 0
    public var minRttMicros: UInt32 = 0
    public var sndCwnd: UInt32 = 0
    public var sndSsthresh: UInt32 = 0
    public var sndMss: UInt32 = 0
    public var advmss: UInt32 = 0
    public var pmtu: UInt32 = 0
    public var totalRetrans: UInt32 = 0
    /// Bytes per second, as the kernel reports `tcpi_delivery_rate`.
    public var deliveryRateBytesPerSecond: UInt64 = 0
    public init() {}
}

public struct TCPProbeResult: Sendable, Hashable, Codable {
    public var address: String
    public var port: Int
    public var outcome: TCPOutcome
    /// SYN sent → connection established.
    public var connectTime: Duration?
    public var info: TCPInfo?
    public var congestionControl: String
    public var expectMatched: Bool?
    public var error: String
    public var dscp: Int

    public init(
        address: String,
        port: Int,
        outcome: TCPOutcome,
        connectTime: Duration? = nil,
        info: TCPInfo? = nil,
        congestionControl: String = "",
        expectMatched: Bool? = nil,
        error: String = "",
        dscp: Int = 0
    ) {
        self.address = address
        self.port = port
        self.outcome = outcome
        self.connectTime = connectTime
        self.info = info
        self.congestionControl = congestionControl
        self.expectMatched = expectMatched
        self.error = error
        self.dscp = dscp
    }
}

/// The host's own resources from /proc and /sys. Rates need two samples and are nil on the first.
public struct SystemSnapshot: Sendable, Hashable, Codable {
    public struct Core: Sendable, Hashable, Codable {
        public var core: Int
        public var percent: Double
        public var frequencyMHz: Double?
        public init(core: Int, percent: Double, frequencyMHz: Double? = nil) {
            self.core = core
            self.percent = percent
            self.frequencyMHz = frequencyMHz
        }
    }
    public struct Mount: Sendable, Hashable, Codable {
        public var mountPoint: String
        public var device: String
        public var fsType: String
        public var totalBytes: UInt64
        public var usedBytes: UInt64
        public var usedPercent: Double
        public init(
            mountPoint: String,
            device: String,
            fsType: String,
            totalBytes: UInt64,
            usedBytes: UInt64,
            usedPercent: Double
        ) {
            self.mountPoint = mountPoint
            self.device = device
            self.fsType = fsType
            self.totalBytes = totalBytes
            self.usedBytes = usedBytes
            self.usedPercent = usedPercent
        }
    }
    public struct Disk: Sendable, Hashable, Codable {
        public var device: String
        public var readIOPS: Double
        public var writeIOPS: Double
        public var readBytesPerSecond: Double
        public var writeBytesPerSecond: Double
        public var utilisationPercent: Double
        public init(
            device: String,
            readIOPS: Double,
            writeIOPS: Double,
            readBytesPerSecond: Double,
            writeBytesPerSecond: Double,
            utilisationPercent: Double
        ) {
            self.device = device
            self.readIOPS = readIOPS
            self.writeIOPS = writeIOPS
            self.readBytesPerSecond = readBytesPerSecond
            self.writeBytesPerSecond = writeBytesPerSecond
            self.utilisationPercent = utilisationPercent
        }
    }
    public struct Interface: Sendable, Hashable, Codable {
        public var name: String
        public var rxBytesPerSecond: Double
        public var txBytesPerSecond: Double
        public var rxPacketsPerSecond: Double
        public var txPacketsPerSecond: Double
        public var rxErrors: UInt64
        public var txErrors: UInt64
        public var rxDrops: UInt64
        public var txDrops: UInt64
        public var speedMbps: Int?
        public var mtu: Int
        public var operState: String
        public init(
            name: String,
            rxBytesPerSecond: Double = 0,
            txBytesPerSecond: Double = 0,
            rxPacketsPerSecond: Double = 0,
            txPacketsPerSecond: Double = 0,
            rxErrors: UInt64 = 0,
            txErrors: UInt64 = 0,
            rxDrops: UInt64 = 0,
            txDrops: UInt64 = 0,
            speedMbps: Int? = nil,
            mtu: Int = 0,
            operState: String = ""
        ) {
            self.name = name
            self.rxBytesPerSecond = rxBytesPerSecond
            self.txBytesPerSecond = txBytesPerSecond
            self.rxPacketsPerSecond = rxPacketsPerSecond
            self.txPacketsPerSecond = txPacketsPerSecond
            self.rxErrors = rxErrors
            self.txErrors = txErrors
            self.rxDrops = rxDrops
            self.txDrops = txDrops
            self.speedMbps = speedMbps
            self.mtu = mtu
            self.operState = operState
        }
    }
    public struct Sensor: Sendable, Hashable, Codable {
        /// "temperature_c", "fan_rpm" or "power_w".
        public var kind: String
        public var name: String
        public var value: Double
        public init(kind: String, name: String, value: Double) {
            self.kind = kind
            self.name = name
            self.value = value
        }
    }
    public struct Wireless: Sendable, Hashable, Codable {
        public var interface: String
        public var signalDBm: Double?
        /// Station TX bitrate and operating frequency, from nl80211.
        public var bitrateMbps: Double?
        public var frequencyMHz: Double?
        /// Why bitrate or frequency is absent; empty when both are present.
        public var absentReason: String
        public init(
            interface: String,
            signalDBm: Double? = nil,
            bitrateMbps: Double? = nil,
            frequencyMHz: Double? = nil,
            absentReason: String = ""
        ) {
            self.interface = interface
            self.signalDBm = signalDBm
            self.bitrateMbps = bitrateMbps
            self.frequencyMHz = frequencyMHz
            self.absentReason = absentReason
        }
    }
    /// One process of a per-process summary.
    public struct Process: Sendable, Hashable, Codable {
        public var pid: Int
        /// `/proc/PID/comm`.
        public var name: String
        /// CPU time used over the interval as a percent of one core, as top shows it (can exceed 100).
        public var cpuPercent: Double?
        public var residentBytes: UInt64
        public init(pid: Int, name: String, cpuPercent: Double? = nil, residentBytes: UInt64) {
            self.pid = pid
            self.name = name
            self.cpuPercent = cpuPercent
            self.residentBytes = residentBytes
        }
    }
    public struct TCPSockets: Sendable, Hashable, Codable {
        public var inUse: Int = 0
        public var orphan: Int = 0
        public var timeWait: Int = 0
        public var allocated: Int = 0
        public init() {}
    }

    public var cpuPercent: Double?
    public var cores: [Core] = []
    public var load1: Double = 0
    public var load5: Double = 0
    public var load15: Double = 0
    public var coreCount: Int = 0
    public var cpuFrequencyMHz: Double?
    public var contextSwitchesPerSecond: Double?
    public var interruptsPerSecond: Double?
    public var memoryTotalBytes: UInt64 = 0
    public var memoryUsedBytes: UInt64 = 0
    public var memoryAvailableBytes: UInt64 = 0
    public var memoryCachedBytes: UInt64 = 0
    public var memoryBuffersBytes: UInt64 = 0
    public var memorySharedBytes: UInt64 = 0
    public var swapTotalBytes: UInt64 = 0
    public var swapUsedBytes: UInt64 = 0
    public var mounts: [Mount] = []
    public var disks: [Disk] = []
    public var processCount: Int = 0
    public var openFiles: UInt64 = 0
    public var tcpSockets = TCPSockets()
    public var tcpRetransmitPercent: Double?
    public var interfaces: [Interface] = []
    public var sensors: [Sensor] = []
    public var wireless: [Wireless] = []
    /// With `SystemOptions.perProcessSummary`: the processes using the most CPU and the most memory.
    public var topByCPU: [Process] = []
    public var topByMemory: [Process] = []

    public init() {}
}
