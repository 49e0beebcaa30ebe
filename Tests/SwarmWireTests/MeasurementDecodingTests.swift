import Foundation
import SwarmCore
import SwarmWire
import Testing

/// `decodeResult` inverts the agent's encoding for every probe kind: what a reader of the store
/// gets back is what the probe produced, with every optional set or unset as it was.
@Suite struct MeasurementDecodingTests {
    /// Encodes `result` as the agent does, carries it through a result batch as the server
    /// receives it, and decodes the stored payload.
    func roundTrip(_ result: ProbeResult, kind: ProbeKind) throws -> ProbeResult? {
        let observation = ProbeObservation(
            testID: TestID(3),
            revision: 2,
            kind: kind,
            startedAt: Timestamp(unixNanos: 1_700_000_000_000_000_000),
            duration: .milliseconds(40),
            status: .ok,
            result: result
        )
        let encoded = try MeasurementEncoding.encode(observation, sequence: 9)
        let frame = try MeshCodec.encodeResultBatch(batchID: 1, encodedMeasurements: [encoded], createdAt: .now())
        guard case .resultBatch(let batch) = try MeshCodec.decode(frame), let stored = batch.measurements.first
        else {
            Issue.record("not a ResultBatch")
            return nil
        }
        #expect(stored.kind == kind)
        return try MeasurementEncoding.decodeResult(kind: kind, payload: stored.payload)
    }

    func expectRoundTrip(_ result: ProbeResult, kind: ProbeKind) throws {
        #expect(try roundTrip(result, kind: kind) == result)
    }

    static func rtt(_ base: Int64) -> RTTSummary {
        var r = RTTSummary()
        r.min = .microseconds(base)
        r.avg = .microseconds(base + 10)
        r.max = .microseconds(base + 30)
        r.mdev = .microseconds(7)
        r.p50 = .microseconds(base + 9)
        r.p90 = .microseconds(base + 25)
        r.p99 = .microseconds(base + 29)
        r.jitter = .microseconds(4)
        return r
    }

    static func tally(sent: Int, received: Int) -> SequenceTally {
        var t = SequenceTally()
        t.sent = sent
        t.received = received
        t.duplicates = 1
        t.reordered = 2
        return t
    }

    @Test("icmp: tally, RTT summary, per-request RTTs with a lost one, TTL set and unset")
    func icmp() throws {
        var r = ICMPProbeResult()
        r.address = "192.0.2.1"
        r.tally = Self.tally(sent: 5, received: 4)
        r.rtt = Self.rtt(1000)
        r.replyTTL = 57
        r.rtts = [.microseconds(1000), nil, .microseconds(1030), .microseconds(1009), .microseconds(1012)]
        r.socketMode = "raw"
        r.dscp = 46
        try expectRoundTrip(.icmp(r), kind: .icmp)
        r.replyTTL = nil
        r.rtt = RTTSummary()
        r.rtts = [nil, nil]
        try expectRoundTrip(.icmp(r), kind: .icmp)
    }

    @Test("udp: DSCP/ECN received and voice quality set and unset")
    func udp() throws {
        var r = UDPProbeResult()
        r.address = "198.51.100.2"
        r.tally = Self.tally(sent: 100, received: 98)
        r.rtt = Self.rtt(2500)
        r.dscpSent = 46
        r.dscpReceived = 0
        r.ecnSent = 1
        r.ecnReceived = 3
        r.ceMarks = 4
        r.voice = VoiceQuality(rFactor: 92.5, mos: 4.375, codec: "G.711")
        try expectRoundTrip(.udp(r), kind: .udp)
        r.dscpReceived = nil
        r.ecnReceived = nil
        r.voice = nil
        try expectRoundTrip(.udp(r), kind: .udp)
    }

    @Test("tcp: every outcome, tcp_info, connect time and expect match set and unset")
    func tcp() throws {
        var info = TCPInfo()
        info.state = 1
        info.retransmits = 2
        info.sndWscale = 7
        info.rcvWscale = 8
        info.ecnNegotiated = true
        info.rttMicros = 48
        info.rttvarMicros = 24
        info.minRttMicros = 31
        info.sndCwnd = 10
        info.sndSsthresh = 2_147_483_647
        info.sndMss = 1448
        info.advmss = 1460
        info.pmtu = 1500
        info.totalRetrans = 3
        info.deliveryRateBytesPerSecond = 1_250_000_000
        var r = TCPProbeResult(
            address: "2001:db8::7",
            port: 443,
            outcome: .expectMismatch,
            connectTime: .microseconds(812),
            info: info,
            congestionControl: "bbr",
            expectMatched: false,
            error: "banner differs",
            dscp: 10
        )
        try expectRoundTrip(.tcp(r), kind: .tcp)
        for outcome in [TCPOutcome.connected, .refused, .timeout, .unreachable, .error] {
            r.outcome = outcome
            try expectRoundTrip(.tcp(r), kind: .tcp)
        }
        r.connectTime = nil
        r.info = nil
        r.expectMatched = nil
        try expectRoundTrip(.tcp(r), kind: .tcp)
    }

    @Test("dns: answers and query time set and unset")
    func dns() throws {
        var r = DNSProbeResult()
        r.server = "192.0.2.53"
        r.query = "example.com"
        r.recordType = "AAAA"
        r.queryTime = .microseconds(15_250)
        r.rcode = "NOERROR"
        r.answerCount = 2
        r.answers = [
            DNSAnswer(name: "example.com", type: "AAAA", ttl: 300, data: "2001:db8::1"),
            DNSAnswer(name: "example.com", type: "AAAA", ttl: 299, data: "2001:db8::2"),
        ]
        r.truncated = true
        r.usedTCP = true
        try expectRoundTrip(.dns(r), kind: .dns)
        r.queryTime = nil
        r.answers = []
        try expectRoundTrip(.dns(r), kind: .dns)
    }

    @Test("http: every phase, certificate and body match set and unset")
    func http() throws {
        var r = HTTPProbeResult()
        r.url = "https://example.com/health"
        r.phases.dns = .microseconds(1200)
        r.phases.connect = .microseconds(3400)
        r.phases.tls = .microseconds(8800)
        r.phases.firstByte = .microseconds(12_000)
        r.phases.transfer = .microseconds(500)
        r.phases.total = .microseconds(25_900)
        r.statusCode = 200
        r.bytes = 1_048_576
        r.throughputBytesPerSecond = 2_097_152
        r.httpVersion = "HTTP/1.1"
        r.tlsVersion = "TLSv1.3"
        r.cipher = "TLS_AES_128_GCM_SHA256"
        r.certificateSubject = "CN=example.com"
        r.certificateIssuer = "CN=Example CA"
        r.certificateDaysToExpiry = 41.5
        r.contentEncoding = "gzip"
        r.compressedBytes = 4096
        r.decodedBytes = 16_384
        r.bodyMatched = true
        r.redirects = 2
        try expectRoundTrip(.http(r), kind: .http)
        r.phases.dns = nil
        r.phases.connect = nil
        r.phases.tls = nil
        r.phases.firstByte = nil
        r.phases.transfer = nil
        r.certificateDaysToExpiry = nil
        r.bodyMatched = nil
        try expectRoundTrip(.http(r), kind: .http)
    }

    /// An answering hop, a silent one (every probe lost) and one that lost a probe.
    static func hops() -> [TracerouteHop] {
        var first = TracerouteHop(ttl: 1)
        first.address = "10.0.0.1"
        first.rtts = [.microseconds(800), .microseconds(810), .microseconds(805)]
        first.probesSent = 3
        first.icmpType = 11
        first.icmpCode = 0
        first.name = "gw.example"
        first.mtu = 1400
        var silent = TracerouteHop(ttl: 2)
        silent.probesSent = 3
        var third = TracerouteHop(ttl: 3)
        third.address = "192.0.2.9"
        third.rtts = [.microseconds(5000), .microseconds(5100)]
        third.probesSent = 3
        third.icmpType = 3
        third.icmpCode = 3
        return [first, silent, third]
    }

    @Test("traceroute: hops answered, silent and lossy, with ICMP type/code, MTU and loss restored")
    func traceroute() throws {
        var r = TracerouteProbeResult()
        r.destination = "192.0.2.9"
        r.mode = "udp"
        r.hops = Self.hops()
        r.reached = true
        r.pathFingerprint = TracerouteProbeResult.fingerprint(of: r.hops)
        r.flowID = 7
        try expectRoundTrip(.traceroute(r), kind: .traceroute)
        let decoded = try roundTrip(.traceroute(r), kind: .traceroute)
        guard case .traceroute(let back)? = decoded else {
            Issue.record("not a traceroute result")
            return
        }
        #expect(back.hops.map(\.lossPercent) == r.hops.map(\.lossPercent))
    }

    @Test("mtu: path MTU and drop hop set and unset")
    func mtu() throws {
        var r = MTUProbeResult()
        r.destination = "192.0.2.9"
        r.pathMTU = 1400
        r.dropHopAddress = "10.0.0.1"
        r.dropHopTTL = 1
        r.method = "pmtud"
        r.hops = Self.hops()
        try expectRoundTrip(.mtu(r), kind: .mtu)
        r.pathMTU = nil
        r.dropHopTTL = nil
        r.hops = []
        try expectRoundTrip(.mtu(r), kind: .mtu)
    }

    @Test("bandwidth: both directions set and unset, duration and per-second rates")
    func bandwidth() throws {
        var r = BandwidthProbeResult()
        r.peer = "192.0.2.10:5201"
        r.downloadMbps = 941.5
        r.uploadMbps = 512.25
        r.bytesDown = 1_176_875_000
        r.bytesUp = 640_312_500
        r.duration = .milliseconds(10_500)
        r.retransmits = 12
        r.streams = 4
        r.perSecondMbps = [900, 950.5, 975.25]
        try expectRoundTrip(.bandwidth(r), kind: .bandwidth)
        r.downloadMbps = nil
        r.uploadMbps = nil
        try expectRoundTrip(.bandwidth(r), kind: .bandwidth)
    }

    @Test("system: every figure, list and optional set and unset")
    func system() throws {
        var s = SystemSnapshot()
        s.cpuPercent = 37.5
        s.cores = [.init(core: 0, percent: 40, frequencyMHz: 2400), .init(core: 1, percent: 35)]
        s.load1 = 1.5
        s.load5 = 1.25
        s.load15 = 0.75
        s.coreCount = 2
        s.cpuFrequencyMHz = 2400
        s.contextSwitchesPerSecond = 12_000
        s.interruptsPerSecond = 8000
        s.memoryTotalBytes = 8 << 30
        s.memoryUsedBytes = 3 << 30
        s.memoryAvailableBytes = 5 << 30
        s.memoryCachedBytes = 1 << 30
        s.memoryBuffersBytes = 1 << 20
        s.memorySharedBytes = 1 << 22
        s.swapTotalBytes = 2 << 30
        s.swapUsedBytes = 1 << 24
        s.mounts = [
            .init(mountPoint: "/", device: "/dev/vda1", fsType: "ext4", totalBytes: 100, usedBytes: 40, usedPercent: 40)
        ]
        s.disks = [
            .init(
                device: "vda",
                readIOPS: 12.5,
                writeIOPS: 30,
                readBytesPerSecond: 51_200,
                writeBytesPerSecond: 122_880,
                utilisationPercent: 4.5
            )
        ]
        s.processCount = 212
        s.openFiles = 1984
        s.tcpSockets.inUse = 14
        s.tcpSockets.orphan = 1
        s.tcpSockets.timeWait = 6
        s.tcpSockets.allocated = 20
        s.tcpRetransmitPercent = 0.25
        s.interfaces = [
            .init(
                name: "eth0",
                rxBytesPerSecond: 1000,
                txBytesPerSecond: 2000,
                rxPacketsPerSecond: 10,
                txPacketsPerSecond: 20,
                rxErrors: 1,
                txErrors: 2,
                rxDrops: 3,
                txDrops: 4,
                speedMbps: 1000,
                mtu: 1500,
                operState: "up"
            ),
            .init(name: "wlan0", mtu: 1500, operState: "dormant"),
        ]
        s.sensors = [.init(kind: "temperature_c", name: "cpu", value: 51.5)]
        s.wireless = [
            .init(interface: "wlan0", signalDBm: -61, bitrateMbps: 866.7, frequencyMHz: 5180),
            .init(interface: "wlan1", absentReason: "not associated"),
        ]
        s.topByCPU = [.init(pid: 101, name: "streamswarm", cpuPercent: 12.5, residentBytes: 50 << 20)]
        s.topByMemory = [.init(pid: 7, name: "postgres", residentBytes: 500 << 20)]
        try expectRoundTrip(.system(s), kind: .system)
        var sparse = SystemSnapshot()
        sparse.coreCount = 4
        sparse.memoryTotalBytes = 1 << 30
        try expectRoundTrip(.system(sparse), kind: .system)
    }

    @Test("gnmi: interfaces, queues, capabilities, latency and device time set and unset")
    func gnmi() throws {
        var s = GNMISnapshot(deviceID: 7, deviceName: "core1", deviceAddress: "192.0.2.1")
        var eth = GNMISnapshot.Interface(name: "et1")
        eth.inOctets = 1 << 40
        eth.outOctets = 1 << 39
        eth.inPackets = 1000
        eth.outPackets = 900
        eth.inErrors = 3
        eth.outErrors = 4
        eth.inDiscards = 5
        eth.outDiscards = 6
        eth.inFCSErrors = 7
        eth.carrierTransitions = 2
        eth.inBitsPerSecond = 1e9
        eth.outBitsPerSecond = 5e8
        eth.inUtilisationPercent = 10
        eth.outUtilisationPercent = 5
        eth.operStatus = "UP"
        eth.speedBitsPerSecond = 10_000_000_000
        s.interfaces = [eth, GNMISnapshot.Interface(name: "et2")]
        s.cpuPercent = 55
        s.memoryUsedBytes = 1 << 30
        s.memoryTotalBytes = 4 << 30
        var queue = GNMISnapshot.Queue(interface: "et1", queue: "BE")
        queue.transmittedPackets = 100
        queue.droppedPackets = 9
        s.queues = [queue]
        s.rpcLatency = .microseconds(1500)
        s.deviceTimestamp = Timestamp(unixNanos: 1_700_000_000_123_456_789)
        s.updates = 123
        s.capabilities = .init(
            models: [.init(name: "openconfig-interfaces", organization: "OpenConfig", version: "2.5.0")],
            encodings: ["JSON_IETF", "PROTO"],
            version: "0.10.0"
        )
        s.errorKind = "wrong_credentials"
        try expectRoundTrip(.gnmi(s), kind: .gnmi)
        var sparse = GNMISnapshot(deviceID: 8, deviceAddress: "192.0.2.2")
        sparse.updates = 1
        try expectRoundTrip(.gnmi(sparse), kind: .gnmi)
    }

    @Test("an empty payload is no result; bytes that are not the kind's message throw")
    func emptyAndGarbage() throws {
        for kind in ProbeKind.allCases {
            #expect(try MeasurementEncoding.decodeResult(kind: kind, payload: Data()) == nil)
            #expect(throws: (any Error).self) {
                try MeasurementEncoding.decodeResult(kind: kind, payload: Data([0xFF, 0xFF, 0xFF]))
            }
        }
    }
}
