/// Typed results of the packet-sending probes (shared/METRICS.md). Times are `Duration`s; a figure
/// that could not be measured is nil, never invented.

/// Round-trip statistics over one run's replies, defined as iputils `ping` defines them (mdev is the
/// population standard deviation) and jitter as RFC 3550 does (mean absolute difference of
/// consecutive RTTs, in send order).
public struct RTTSummary: Sendable, Hashable, Codable {
    public var min: Duration?
    public var avg: Duration?
    public var max: Duration?
    public var mdev: Duration?
    public var p50: Duration?
    public var p90: Duration?
    public var p99: Duration?
    public var jitter: Duration?

    public init() {}

    /// Statistics of `rtts`, given in send order.
    public init(rtts: [Duration]) {
        guard !rtts.isEmpty else { return }
        let micros = rtts.map(\.microseconds)
        let sorted = micros.sorted()
        let mean = micros.reduce(0, +) / Double(micros.count)
        let variance = micros.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(micros.count)
        min = .microseconds(sorted[0])
        max = .microseconds(sorted[sorted.count - 1])
        avg = .microseconds(mean)
        mdev = .microseconds(variance.squareRoot())
        p50 = .microseconds(Self.percentile(sorted, 0.50))
        p90 = .microseconds(Self.percentile(sorted, 0.90))
        p99 = .microseconds(Self.percentile(sorted, 0.99))
        if micros.count > 1 {
            var total = 0.0
            for i in 1..<micros.count { total += abs(micros[i] - micros[i - 1]) }
            jitter = .microseconds(total / Double(micros.count - 1))
        }
    }

    /// Linear interpolation between closest ranks (the method numpy and most tools default to).
    public static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard sorted.count > 1 else { return sorted.first ?? 0 }
        let rank = q * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down))
        let high = Swift.min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    }
}

/// Counting of a probe stream identified by sequence numbers: what arrived, twice, or out of order.
public struct SequenceTally: Sendable, Hashable, Codable {
    public var sent = 0
    public var received = 0
    public var duplicates = 0
    public var reordered = 0
    public var lossPercent: Double { sent == 0 ? 0 : Double(sent - received) / Double(sent) * 100 }

    public init() {}
}

public struct ICMPProbeResult: Sendable, Hashable, Codable {
    public var address = ""
    public var tally = SequenceTally()
    public var rtt = RTTSummary()
    public var replyTTL: Int?
    /// One entry per request in send order; nil where no reply came.
    public var rtts: [Duration?] = []
    /// "datagram" (unprivileged ICMP socket) or "raw".
    public var socketMode = ""
    public var dscp = 0
    public init() {}
}

/// ITU-T G.107 E-model figures for a G.711 stream.
public struct VoiceQuality: Sendable, Hashable, Codable {
    public var rFactor: Double
    public var mos: Double
    public var codec: String
    public init(rFactor: Double, mos: Double, codec: String) {
        self.rFactor = rFactor
        self.mos = mos
        self.codec = codec
    }
}

public struct UDPProbeResult: Sendable, Hashable, Codable {
    public var address = ""
    public var tally = SequenceTally()
    public var rtt = RTTSummary()
    public var dscpSent = 0
    /// DSCP the responder saw (IP_RECVTOS); differs from `dscpSent` when the path remarks.
    public var dscpReceived: Int?
    public var ecnSent = 0
    public var ecnReceived: Int?
    public var ceMarks = 0
    public var voice: VoiceQuality?
    public init() {}
}

public struct DNSAnswer: Sendable, Hashable, Codable {
    public var name: String
    public var type: String
    public var ttl: UInt32
    public var data: String
    public init(name: String, type: String, ttl: UInt32, data: String) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.data = data
    }
}

public struct DNSProbeResult: Sendable, Hashable, Codable {
    public var server = ""
    public var query = ""
    public var recordType = ""
    public var queryTime: Duration?
    public var rcode = ""
    public var answerCount = 0
    public var answers: [DNSAnswer] = []
    public var truncated = false
    public var usedTCP = false
    public init() {}
}

public struct HTTPPhases: Sendable, Hashable, Codable {
    public var dns: Duration?
    public var connect: Duration?
    public var tls: Duration?
    /// Request sent → first response byte.
    public var firstByte: Duration?
    public var transfer: Duration?
    public var total: Duration = .zero
    public init() {}
}

public struct HTTPProbeResult: Sendable, Hashable, Codable {
    public var url = ""
    public var phases = HTTPPhases()
    public var statusCode = 0
    public var bytes: UInt64 = 0
    /// Body bytes per second over the transfer phase.
    public var throughputBytesPerSecond = 0.0
    public var httpVersion = ""
    public var tlsVersion = ""
    public var cipher = ""
    public var certificateSubject = ""
    public var certificateIssuer = ""
    public var certificateDaysToExpiry: Double?
    public var contentEncoding = ""
    public var compressedBytes: UInt64 = 0
    public var decodedBytes: UInt64 = 0
    public var bodyMatched: Bool?
    public var redirects = 0
    public init() {}
}

public struct TracerouteHop: Sendable, Hashable, Codable {
    public var ttl: Int
    /// Empty when no probe at this TTL drew a reply.
    public var address = ""
    public var rtts: [Duration] = []
    public var probesSent = 0
    public var icmpType: Int?
    public var icmpCode: Int?
    public var name = ""
    /// Next-hop MTU the router reported (ICMP fragmentation needed / packet too big).
    public var mtu: Int?
    public var lossPercent: Double {
        probesSent == 0 ? 0 : Double(probesSent - rtts.count) / Double(probesSent) * 100
    }
    public init(ttl: Int) { self.ttl = ttl }
}

public struct TracerouteProbeResult: Sendable, Hashable, Codable {
    public var destination = ""
    /// "udp", "icmp" or "tcp-syn".
    public var mode = ""
    public var hops: [TracerouteHop] = []
    public var reached = false
    public var pathFingerprint = ""
    public var flowID = 0
    public init() {}

    /// A stable hash of the responding addresses in TTL order ("*" for silent hops): equal
    /// fingerprints mean the same path. FNV-1a, printed as 16 hex digits.
    public static func fingerprint(of hops: [TracerouteHop]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in hops.map({ $0.address.isEmpty ? "*" : $0.address }).joined(separator: ">").utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

public struct MTUProbeResult: Sendable, Hashable, Codable {
    public var destination = ""
    public var pathMTU: Int?
    public var dropHopAddress = ""
    public var dropHopTTL: Int?
    public var method = ""
    public var hops: [TracerouteHop] = []
    public init() {}
}

public struct BandwidthProbeResult: Sendable, Hashable, Codable {
    public var peer = ""
    public var downloadMbps: Double?
    public var uploadMbps: Double?
    public var bytesDown: UInt64 = 0
    public var bytesUp: UInt64 = 0
    public var duration: Duration = .zero
    public var retransmits = 0
    public var streams = 0
    public var perSecondMbps: [Double] = []
    public init() {}
}

extension Duration {
    /// This duration in (fractional) microseconds.
    public var microseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1_000_000 + Double(attoseconds) / 1_000_000_000_000
    }
}
