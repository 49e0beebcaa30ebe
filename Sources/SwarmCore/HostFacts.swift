/// Facts about an agent's host, reported in `Hello`.
public struct HostFacts: Sendable, Hashable, Codable {
    public var hostname: String
    public var osName: String
    public var osVersion: String
    public var kernel: String
    public var arch: String
    public var cpuCount: Int
    public var memoryBytes: UInt64
    public var bootTime: Timestamp?
    /// Where the agent's responders listen, for mesh tests from other agents.
    public var responder: ResponderEndpoint?

    public init(
        hostname: String = "",
        osName: String = "",
        osVersion: String = "",
        kernel: String = "",
        arch: String = "",
        cpuCount: Int = 0,
        memoryBytes: UInt64 = 0,
        bootTime: Timestamp? = nil,
        responder: ResponderEndpoint? = nil
    ) {
        self.responder = responder
        self.hostname = hostname
        self.osName = osName
        self.osVersion = osVersion
        self.kernel = kernel
        self.arch = arch
        self.cpuCount = cpuCount
        self.memoryBytes = memoryBytes
        self.bootTime = bootTime
    }
}

/// The agent's load, carried by every heartbeat.
public struct LoadSnapshot: Sendable, Hashable, Codable {
    public var load1: Double
    public var cpuPercent: Double
    public var memoryUsedBytes: UInt64
    public var spoolDepth: UInt64
    public var testsRunning: Int
    public var batchesInFlight: Int

    public init(
        load1: Double = 0,
        cpuPercent: Double = 0,
        memoryUsedBytes: UInt64 = 0,
        spoolDepth: UInt64 = 0,
        testsRunning: Int = 0,
        batchesInFlight: Int = 0
    ) {
        self.load1 = load1
        self.cpuPercent = cpuPercent
        self.memoryUsedBytes = memoryUsedBytes
        self.spoolDepth = spoolDepth
        self.testsRunning = testsRunning
        self.batchesInFlight = batchesInFlight
    }
}

/// An agent's UDP echo and bandwidth responders (port 0: that responder is off).
public struct ResponderEndpoint: Sendable, Hashable, Codable {
    public var address: String
    public var udpPort: Int
    public var bandwidthPort: Int
    public init(address: String, udpPort: Int, bandwidthPort: Int) {
        self.address = address
        self.udpPort = udpPort
        self.bandwidthPort = bandwidthPort
    }
}
