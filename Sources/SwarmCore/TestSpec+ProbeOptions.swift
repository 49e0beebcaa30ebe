/// Options that only one probe kind reads. Defaults are what the reference tools do.
extension TestSpec {
    public struct ICMPOptions: Sendable, Hashable, Codable {
        /// Gap between echo requests within one run (`ping -i`). Defaults to 1 s.
        public var packetInterval: Duration = .seconds(1)
        public init(packetInterval: Duration = .seconds(1)) { self.packetInterval = packetInterval }
    }

    public struct UDPOptions: Sendable, Hashable, Codable {
        /// Defaults to 50 packets per second for 1 s; voice mode paces at 20 ms instead.
        public var packetsPerSecond = 50
        public var duration: Duration = .seconds(1)
        /// 20 ms pacing, G.711-sized payloads (160 bytes), E-model R-factor and MOS.
        public var voice = false
        /// ECN codepoint (0–3) set on sent packets.
        public var ecn = 0
        public init(packetsPerSecond: Int = 50, duration: Duration = .seconds(1), voice: Bool = false, ecn: Int = 0) {
            self.packetsPerSecond = packetsPerSecond
            self.duration = duration
            self.voice = voice
            self.ecn = ecn
        }
    }

    public struct DNSOptions: Sendable, Hashable, Codable {
        /// Server address (optionally `host:port`); empty uses the first nameserver in /etc/resolv.conf.
        public var server = ""
        public var recordType = "A"
        /// Query over TCP from the start instead of falling back on truncation.
        public var tcp = false
        public var recursionDesired = true
        public init(server: String = "", recordType: String = "A", tcp: Bool = false, recursionDesired: Bool = true) {
            self.server = server
            self.recordType = recordType
            self.tcp = tcp
            self.recursionDesired = recursionDesired
        }
    }

    public struct HTTPOptions: Sendable, Hashable, Codable {
        /// "GET" or "HEAD".
        public var method = "GET"
        public var followRedirects = false
        public var maxRedirects = 5
        /// When set, the body must contain this text for the run to pass.
        public var expectSubstring = ""
        public var headers: [String: String] = [:]
        /// Accept any server certificate (still reports it). Off by default.
        public var insecureSkipVerify = false
        public init(
            method: String = "GET",
            followRedirects: Bool = false,
            maxRedirects: Int = 5,
            expectSubstring: String = "",
            headers: [String: String] = [:],
            insecureSkipVerify: Bool = false
        ) {
            self.method = method
            self.followRedirects = followRedirects
            self.maxRedirects = maxRedirects
            self.expectSubstring = expectSubstring
            self.headers = headers
            self.insecureSkipVerify = insecureSkipVerify
        }
    }

    public struct TracerouteOptions: Sendable, Hashable, Codable {
        public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
            case udp, icmp
            case tcpSYN = "tcp-syn"
        }
        /// UDP works unprivileged (IP_RECVERR); ICMP and TCP SYN need a raw socket.
        public var mode: Mode = .udp
        public var maxHops = 30
        public var probesPerHop = 3
        public var resolveNames = false
        public init(mode: Mode = .udp, maxHops: Int = 30, probesPerHop: Int = 3, resolveNames: Bool = false) {
            self.mode = mode
            self.maxHops = maxHops
            self.probesPerHop = probesPerHop
            self.resolveNames = resolveNames
        }
    }

    public struct MTUOptions: Sendable, Hashable, Codable {
        /// Search range for the path MTU in bytes (whole IP packet). Defaults to 576...9000 (v4).
        public var minBytes = 0
        public var maxBytes = 0
        public init(minBytes: Int = 0, maxBytes: Int = 0) {
            self.minBytes = minBytes
            self.maxBytes = maxBytes
        }
    }

    public struct BandwidthOptions: Sendable, Hashable, Codable {
        public enum Direction: String, Sendable, Hashable, Codable, CaseIterable { case download, upload, both }
        public var direction: Direction = .download
        public var streams = 1
        public var duration: Duration = .seconds(5)
        public init(direction: Direction = .download, streams: Int = 1, duration: Duration = .seconds(5)) {
            self.direction = direction
            self.streams = streams
            self.duration = duration
        }
    }

    public struct SystemOptions: Sendable, Hashable, Codable {
        /// Busy percent and frequency of every core, beside the total.
        public var perCore = false
        /// The processes using the most CPU and the most memory (``SystemSnapshot/topByCPU``).
        public var perProcessSummary = false
        public init(perCore: Bool = false, perProcessSummary: Bool = false) {
            self.perCore = perCore
            self.perProcessSummary = perProcessSummary
        }
    }
}
