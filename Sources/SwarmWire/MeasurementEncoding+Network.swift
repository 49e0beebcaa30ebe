import SwarmCore
import SwarmProto

/// Domain → proto for the packet-sending probes' results.
extension MeasurementEncoding {
    static func rtt(_ r: RTTSummary) -> Streamswarm_Mesh_V1_RttSummary {
        var m = Streamswarm_Mesh_V1_RttSummary()
        if let v = r.min { m.minUs = v.microseconds }
        if let v = r.avg { m.avgUs = v.microseconds }
        if let v = r.max { m.maxUs = v.microseconds }
        if let v = r.mdev { m.mdevUs = v.microseconds }
        if let v = r.p50 { m.p50Us = v.microseconds }
        if let v = r.p90 { m.p90Us = v.microseconds }
        if let v = r.p99 { m.p99Us = v.microseconds }
        if let v = r.jitter { m.jitterUs = v.microseconds }
        return m
    }

    static func icmp(_ r: ICMPProbeResult) -> Streamswarm_Mesh_V1_IcmpResult {
        var m = Streamswarm_Mesh_V1_IcmpResult()
        m.address = r.address
        m.sent = UInt32(clamping: r.tally.sent)
        m.received = UInt32(clamping: r.tally.received)
        m.lossPercent = r.tally.lossPercent
        m.duplicates = UInt32(clamping: r.tally.duplicates)
        m.reordered = UInt32(clamping: r.tally.reordered)
        m.rtt = rtt(r.rtt)
        if let ttl = r.replyTTL { m.replyTtl = UInt32(clamping: ttl) }
        // why: proto3 has no optional repeated element; -1 marks a request that got no reply.
        m.rttsUs = r.rtts.map { $0?.microseconds ?? -1 }
        m.socketMode = r.socketMode
        m.dscp = UInt32(clamping: r.dscp)
        return m
    }

    static func udp(_ r: UDPProbeResult) -> Streamswarm_Mesh_V1_UdpResult {
        var m = Streamswarm_Mesh_V1_UdpResult()
        m.address = r.address
        m.sent = UInt32(clamping: r.tally.sent)
        m.received = UInt32(clamping: r.tally.received)
        m.lossPercent = r.tally.lossPercent
        m.duplicates = UInt32(clamping: r.tally.duplicates)
        m.reordered = UInt32(clamping: r.tally.reordered)
        m.rtt = rtt(r.rtt)
        m.dscpSent = UInt32(clamping: r.dscpSent)
        if let v = r.dscpReceived { m.dscpReceived = UInt32(clamping: v) }
        m.ecnSent = UInt32(clamping: r.ecnSent)
        if let v = r.ecnReceived { m.ecnReceived = UInt32(clamping: v) }
        m.ceMarks = UInt32(clamping: r.ceMarks)
        if let v = r.voice {
            var voice = Streamswarm_Mesh_V1_VoiceQuality()
            voice.rFactor = v.rFactor
            voice.mos = v.mos
            voice.codec = v.codec
            m.voice = voice
        }
        return m
    }

    static func dns(_ r: DNSProbeResult) -> Streamswarm_Mesh_V1_DnsResult {
        var m = Streamswarm_Mesh_V1_DnsResult()
        m.server = r.server
        m.query = r.query
        m.recordType = r.recordType
        if let t = r.queryTime { m.queryTimeUs = t.microseconds }
        m.rcode = r.rcode
        m.answerCount = UInt32(clamping: r.answerCount)
        m.answers = r.answers.map { a in
            var answer = Streamswarm_Mesh_V1_DnsAnswer()
            answer.name = a.name
            answer.type = a.type
            answer.ttl = a.ttl
            answer.data = a.data
            return answer
        }
        m.truncated = r.truncated
        m.usedTcp = r.usedTCP
        return m
    }

    static func http(_ r: HTTPProbeResult) -> Streamswarm_Mesh_V1_HttpResult {
        var m = Streamswarm_Mesh_V1_HttpResult()
        m.url = r.url
        var phases = Streamswarm_Mesh_V1_HttpPhases()
        if let v = r.phases.dns { phases.dnsUs = v.microseconds }
        if let v = r.phases.connect { phases.connectUs = v.microseconds }
        if let v = r.phases.tls { phases.tlsUs = v.microseconds }
        if let v = r.phases.firstByte { phases.firstByteUs = v.microseconds }
        if let v = r.phases.transfer { phases.transferUs = v.microseconds }
        phases.totalUs = r.phases.total.microseconds
        m.phases = phases
        m.statusCode = UInt32(clamping: r.statusCode)
        m.bytes = r.bytes
        m.throughputBps = r.throughputBytesPerSecond
        m.httpVersion = r.httpVersion
        m.tlsVersion = r.tlsVersion
        m.cipher = r.cipher
        m.certificateSubject = r.certificateSubject
        m.certificateIssuer = r.certificateIssuer
        if let v = r.certificateDaysToExpiry { m.certificateDaysToExpiry = v }
        m.contentEncoding = r.contentEncoding
        m.compressedBytes = r.compressedBytes
        m.decodedBytes = r.decodedBytes
        if let v = r.bodyMatched { m.bodyMatched = v }
        m.redirects = UInt32(clamping: r.redirects)
        return m
    }

    static func hop(_ h: TracerouteHop) -> Streamswarm_Mesh_V1_TracerouteHop {
        var m = Streamswarm_Mesh_V1_TracerouteHop()
        m.ttl = UInt32(clamping: h.ttl)
        m.address = h.address
        m.rttsUs = h.rtts.map(\.microseconds)
        m.lossPercent = h.lossPercent
        m.icmpType = UInt32(clamping: h.icmpType ?? 0)
        m.icmpCode = UInt32(clamping: h.icmpCode ?? 0)
        m.name = h.name
        if let mtu = h.mtu { m.mtu = UInt32(clamping: mtu) }
        return m
    }

    static func traceroute(_ r: TracerouteProbeResult) -> Streamswarm_Mesh_V1_TracerouteResult {
        var m = Streamswarm_Mesh_V1_TracerouteResult()
        m.destination = r.destination
        m.mode = r.mode
        m.hops = r.hops.map(hop)
        m.reached = r.reached
        m.pathFingerprint = r.pathFingerprint
        m.flowID = UInt32(clamping: r.flowID)
        return m
    }

    static func mtu(_ r: MTUProbeResult) -> Streamswarm_Mesh_V1_MtuResult {
        var m = Streamswarm_Mesh_V1_MtuResult()
        m.destination = r.destination
        if let v = r.pathMTU { m.pathMtu = UInt32(clamping: v) }
        m.dropHopAddress = r.dropHopAddress
        if let v = r.dropHopTTL { m.dropHopTtl = UInt32(clamping: v) }
        m.method = r.method
        m.hops = r.hops.map(hop)
        return m
    }

    static func bandwidth(_ r: BandwidthProbeResult) -> Streamswarm_Mesh_V1_BandwidthResult {
        var m = Streamswarm_Mesh_V1_BandwidthResult()
        m.peer = r.peer
        if let v = r.downloadMbps { m.downloadMbps = v }
        if let v = r.uploadMbps { m.uploadMbps = v }
        m.bytesDown = r.bytesDown
        m.bytesUp = r.bytesUp
        m.durationS = r.duration.seconds
        m.retransmits = UInt32(clamping: r.retransmits)
        m.streams = UInt32(clamping: r.streams)
        m.perSecondMbps = r.perSecondMbps
        return m
    }
}
