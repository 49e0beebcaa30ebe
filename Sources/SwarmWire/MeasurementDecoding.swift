// why: decodeResult takes a stored payload (Data) and returns SwarmCore's ProbeResult.
public import Foundation
public import SwarmCore
import SwarmProto
import SwiftProtobuf

/// Proto → domain for every probe kind's result: the inverse of the mappings in
/// `MeasurementEncoding.swift`, `MeasurementEncoding+Network.swift` and `GNMIMapping.swift`, so
/// readers of stored results (gateway, CLI, analytics) get typed values, never generated messages.
///
/// Where the wire keeps less than the domain type, the decoder says what it restores:
/// - durations travel as microseconds (seconds for bandwidth) and come back rounded to the nanosecond;
/// - a traceroute hop's `icmp_type`/`icmp_code` have no presence: 0/0 (only an IPv4 echo reply)
///   reads as "no ICMP reply" (nil), as an unset pair was written;
/// - a hop's `probesSent` travels as its loss: it is recovered from the loss and the RTT count, and
///   for a hop that lost every probe it is the count of the result's other hops (else 1).
extension MeasurementEncoding {
    /// Decodes a stored result payload of `kind`; nil for an empty payload (a run without a result).
    ///
    /// - Throws: when `payload` is not a serialized result message of `kind`.
    public static func decodeResult(kind: ProbeKind, payload: Data) throws -> ProbeResult? {
        guard !payload.isEmpty else { return nil }
        return switch kind {
        case .icmp: .icmp(icmp(try Streamswarm_Mesh_V1_IcmpResult(serializedBytes: payload)))
        case .udp: .udp(udp(try Streamswarm_Mesh_V1_UdpResult(serializedBytes: payload)))
        case .tcp: .tcp(tcp(try Streamswarm_Mesh_V1_TcpResult(serializedBytes: payload)))
        case .dns: .dns(dns(try Streamswarm_Mesh_V1_DnsResult(serializedBytes: payload)))
        case .http: .http(http(try Streamswarm_Mesh_V1_HttpResult(serializedBytes: payload)))
        case .traceroute:
            .traceroute(traceroute(try Streamswarm_Mesh_V1_TracerouteResult(serializedBytes: payload)))
        case .mtu: .mtu(mtu(try Streamswarm_Mesh_V1_MtuResult(serializedBytes: payload)))
        case .bandwidth: .bandwidth(bandwidth(try Streamswarm_Mesh_V1_BandwidthResult(serializedBytes: payload)))
        case .system: .system(system(try Streamswarm_Mesh_V1_SystemResult(serializedBytes: payload)))
        case .gnmi: .gnmi(GNMIMapping.snapshot(try Streamswarm_Mesh_V1_GnmiResult(serializedBytes: payload)))
        }
    }

    // MARK: - Units

    /// Microseconds as the wire carries them, back to a duration; a stored value that is not a
    /// finite number reads as zero rather than trapping.
    static func duration(micros: Double) -> Duration { duration(nanos: micros * 1000) }

    static func duration(seconds: Double) -> Duration { duration(nanos: seconds * 1e9) }

    private static func duration(nanos: Double) -> Duration {
        guard nanos.isFinite else { return .zero }
        return .nanoseconds(Int64(max(-9.2e18, min(9.2e18, nanos.rounded()))))
    }

    // MARK: - Proto → domain results

    static func rtt(_ m: Streamswarm_Mesh_V1_RttSummary) -> RTTSummary {
        var r = RTTSummary()
        r.min = m.hasMinUs ? duration(micros: m.minUs) : nil
        r.avg = m.hasAvgUs ? duration(micros: m.avgUs) : nil
        r.max = m.hasMaxUs ? duration(micros: m.maxUs) : nil
        r.mdev = m.hasMdevUs ? duration(micros: m.mdevUs) : nil
        r.p50 = m.hasP50Us ? duration(micros: m.p50Us) : nil
        r.p90 = m.hasP90Us ? duration(micros: m.p90Us) : nil
        r.p99 = m.hasP99Us ? duration(micros: m.p99Us) : nil
        r.jitter = m.hasJitterUs ? duration(micros: m.jitterUs) : nil
        return r
    }

    static func icmp(_ m: Streamswarm_Mesh_V1_IcmpResult) -> ICMPProbeResult {
        var r = ICMPProbeResult()
        r.address = m.address
        r.tally.sent = Int(m.sent)
        r.tally.received = Int(m.received)
        r.tally.duplicates = Int(m.duplicates)
        r.tally.reordered = Int(m.reordered)
        r.rtt = rtt(m.rtt)
        r.replyTTL = m.hasReplyTtl ? Int(m.replyTtl) : nil
        // A negative entry (-1) marks a request that got no reply.
        r.rtts = m.rttsUs.map { $0 < 0 ? nil : duration(micros: $0) }
        r.socketMode = m.socketMode
        r.dscp = Int(m.dscp)
        return r
    }

    static func udp(_ m: Streamswarm_Mesh_V1_UdpResult) -> UDPProbeResult {
        var r = UDPProbeResult()
        r.address = m.address
        r.tally.sent = Int(m.sent)
        r.tally.received = Int(m.received)
        r.tally.duplicates = Int(m.duplicates)
        r.tally.reordered = Int(m.reordered)
        r.rtt = rtt(m.rtt)
        r.dscpSent = Int(m.dscpSent)
        r.dscpReceived = m.hasDscpReceived ? Int(m.dscpReceived) : nil
        r.ecnSent = Int(m.ecnSent)
        r.ecnReceived = m.hasEcnReceived ? Int(m.ecnReceived) : nil
        r.ceMarks = Int(m.ceMarks)
        r.voice = m.hasVoice ? VoiceQuality(rFactor: m.voice.rFactor, mos: m.voice.mos, codec: m.voice.codec) : nil
        return r
    }

    static func tcp(_ m: Streamswarm_Mesh_V1_TcpResult) -> TCPProbeResult {
        var info = TCPInfo()
        info.rttMicros = m.info.rttUs
        info.rttvarMicros = m.info.rttvarUs
        info.minRttMicros = m.info.minRttUs
        info.sndCwnd = m.info.sndCwnd
        info.sndSsthresh = m.info.sndSsthresh
        info.sndMss = m.info.sndMss
        info.advmss = m.info.advmss
        info.pmtu = m.info.pmtu
        info.retransmits = m.info.retransmits
        info.totalRetrans = m.info.totalRetrans
        info.deliveryRateBytesPerSecond = m.info.deliveryRateBps
        info.sndWscale = m.info.sndWscale
        info.rcvWscale = m.info.rcvWscale
        info.ecnNegotiated = m.info.ecnNegotiated
        info.state = m.info.state
        let outcome: TCPOutcome =
            switch m.outcome {
            case .connected: .connected
            case .refused: .refused
            case .timeout: .timeout
            case .unreachable: .unreachable
            case .expectMismatch: .expectMismatch
            default: .error
            }
        return TCPProbeResult(
            address: m.address,
            port: Int(m.port),
            outcome: outcome,
            connectTime: m.hasConnectUs ? duration(micros: m.connectUs) : nil,
            info: m.hasInfo ? info : nil,
            congestionControl: m.congestionControl,
            expectMatched: m.hasExpectMatched ? m.expectMatched : nil,
            error: m.error,
            dscp: Int(m.dscp)
        )
    }

    static func dns(_ m: Streamswarm_Mesh_V1_DnsResult) -> DNSProbeResult {
        var r = DNSProbeResult()
        r.server = m.server
        r.query = m.query
        r.recordType = m.recordType
        r.queryTime = m.hasQueryTimeUs ? duration(micros: m.queryTimeUs) : nil
        r.rcode = m.rcode
        r.answerCount = Int(m.answerCount)
        r.answers = m.answers.map { DNSAnswer(name: $0.name, type: $0.type, ttl: $0.ttl, data: $0.data) }
        r.truncated = m.truncated
        r.usedTCP = m.usedTcp
        return r
    }

    static func http(_ m: Streamswarm_Mesh_V1_HttpResult) -> HTTPProbeResult {
        var r = HTTPProbeResult()
        r.url = m.url
        let p = m.phases
        r.phases.dns = p.hasDnsUs ? duration(micros: p.dnsUs) : nil
        r.phases.connect = p.hasConnectUs ? duration(micros: p.connectUs) : nil
        r.phases.tls = p.hasTlsUs ? duration(micros: p.tlsUs) : nil
        r.phases.firstByte = p.hasFirstByteUs ? duration(micros: p.firstByteUs) : nil
        r.phases.transfer = p.hasTransferUs ? duration(micros: p.transferUs) : nil
        r.phases.total = duration(micros: p.totalUs)
        r.statusCode = Int(m.statusCode)
        r.bytes = m.bytes
        r.throughputBytesPerSecond = m.throughputBps
        r.httpVersion = m.httpVersion
        r.tlsVersion = m.tlsVersion
        r.cipher = m.cipher
        r.certificateSubject = m.certificateSubject
        r.certificateIssuer = m.certificateIssuer
        r.certificateDaysToExpiry = m.hasCertificateDaysToExpiry ? m.certificateDaysToExpiry : nil
        r.contentEncoding = m.contentEncoding
        r.compressedBytes = m.compressedBytes
        r.decodedBytes = m.decodedBytes
        r.bodyMatched = m.hasBodyMatched ? m.bodyMatched : nil
        r.redirects = Int(m.redirects)
        return r
    }

    /// The hops of one result; see the type's notes for `icmpType`/`icmpCode` and `probesSent`.
    static func hops(_ list: [Streamswarm_Mesh_V1_TracerouteHop]) -> [TracerouteHop] {
        var hops = list.map { m in
            var h = TracerouteHop(ttl: Int(m.ttl))
            h.address = m.address
            h.rtts = m.rttsUs.map { duration(micros: $0) }
            if m.icmpType != 0 || m.icmpCode != 0 {
                h.icmpType = Int(m.icmpType)
                h.icmpCode = Int(m.icmpCode)
            }
            h.name = m.name
            h.mtu = m.hasMtu ? Int(m.mtu) : nil
            // loss = (sent - replies) / sent, so sent = replies / (1 - loss); 0 % loss with no
            // replies means nothing was sent.
            if m.lossPercent < 100, m.lossPercent.isFinite {
                let sent = Double(m.rttsUs.count) / (1 - max(0, m.lossPercent) / 100)
                h.probesSent = Int(min(1e6, sent.rounded()))
            }
            return h
        }
        let known = hops.map(\.probesSent).max() ?? 0
        for index in hops.indices where list[index].lossPercent >= 100 {
            hops[index].probesSent = max(1, known)
        }
        return hops
    }

    static func traceroute(_ m: Streamswarm_Mesh_V1_TracerouteResult) -> TracerouteProbeResult {
        var r = TracerouteProbeResult()
        r.destination = m.destination
        r.mode = m.mode
        r.hops = hops(m.hops)
        r.reached = m.reached
        r.pathFingerprint = m.pathFingerprint
        r.flowID = Int(m.flowID)
        return r
    }

    static func mtu(_ m: Streamswarm_Mesh_V1_MtuResult) -> MTUProbeResult {
        var r = MTUProbeResult()
        r.destination = m.destination
        r.pathMTU = m.hasPathMtu ? Int(m.pathMtu) : nil
        r.dropHopAddress = m.dropHopAddress
        r.dropHopTTL = m.hasDropHopTtl ? Int(m.dropHopTtl) : nil
        r.method = m.method
        r.hops = hops(m.hops)
        return r
    }

    static func bandwidth(_ m: Streamswarm_Mesh_V1_BandwidthResult) -> BandwidthProbeResult {
        var r = BandwidthProbeResult()
        r.peer = m.peer
        r.downloadMbps = m.hasDownloadMbps ? m.downloadMbps : nil
        r.uploadMbps = m.hasUploadMbps ? m.uploadMbps : nil
        r.bytesDown = m.bytesDown
        r.bytesUp = m.bytesUp
        r.duration = duration(seconds: m.durationS)
        r.retransmits = Int(m.retransmits)
        r.streams = Int(m.streams)
        r.perSecondMbps = m.perSecondMbps
        return r
    }

    static func system(_ m: Streamswarm_Mesh_V1_SystemResult) -> SystemSnapshot {
        var s = SystemSnapshot()
        s.cpuPercent = m.hasCpuPercent ? m.cpuPercent : nil
        s.cores = m.cores.map {
            .init(core: Int($0.core), percent: $0.percent, frequencyMHz: $0.hasFrequencyMhz ? $0.frequencyMhz : nil)
        }
        s.load1 = m.load1
        s.load5 = m.load5
        s.load15 = m.load15
        s.coreCount = Int(m.coreCount)
        s.cpuFrequencyMHz = m.hasCpuFrequencyMhz ? m.cpuFrequencyMhz : nil
        s.contextSwitchesPerSecond = m.hasContextSwitchesPerSecond ? m.contextSwitchesPerSecond : nil
        s.interruptsPerSecond = m.hasInterruptsPerSecond ? m.interruptsPerSecond : nil
        s.memoryTotalBytes = m.memoryTotalBytes
        s.memoryUsedBytes = m.memoryUsedBytes
        s.memoryAvailableBytes = m.memoryAvailableBytes
        s.memoryCachedBytes = m.memoryCachedBytes
        s.memoryBuffersBytes = m.memoryBuffersBytes
        s.memorySharedBytes = m.memorySharedBytes
        s.swapTotalBytes = m.swapTotalBytes
        s.swapUsedBytes = m.swapUsedBytes
        s.mounts = m.mounts.map {
            .init(
                mountPoint: $0.mountPoint,
                device: $0.device,
                fsType: $0.fsType,
                totalBytes: $0.totalBytes,
                usedBytes: $0.usedBytes,
                usedPercent: $0.usedPercent
            )
        }
        s.disks = m.disks.map {
            .init(
                device: $0.device,
                readIOPS: $0.readIops,
                writeIOPS: $0.writeIops,
                readBytesPerSecond: $0.readBytesPerSecond,
                writeBytesPerSecond: $0.writeBytesPerSecond,
                utilisationPercent: $0.utilisationPercent
            )
        }
        s.processCount = Int(m.processCount)
        s.openFiles = m.openFiles
        s.tcpSockets.inUse = Int(m.tcpSockets.inUse)
        s.tcpSockets.orphan = Int(m.tcpSockets.orphan)
        s.tcpSockets.timeWait = Int(m.tcpSockets.timeWait)
        s.tcpSockets.allocated = Int(m.tcpSockets.allocated)
        s.tcpRetransmitPercent = m.hasTcpRetransmitPercent ? m.tcpRetransmitPercent : nil
        s.interfaces = m.interfaces.map {
            .init(
                name: $0.name,
                rxBytesPerSecond: $0.rxBytesPerSecond,
                txBytesPerSecond: $0.txBytesPerSecond,
                rxPacketsPerSecond: $0.rxPacketsPerSecond,
                txPacketsPerSecond: $0.txPacketsPerSecond,
                rxErrors: $0.rxErrors,
                txErrors: $0.txErrors,
                rxDrops: $0.rxDrops,
                txDrops: $0.txDrops,
                speedMbps: $0.hasSpeedMbps ? Int($0.speedMbps) : nil,
                mtu: Int($0.mtu),
                operState: $0.operState
            )
        }
        s.sensors = m.sensors.map { .init(kind: $0.kind, name: $0.name, value: $0.value) }
        s.wireless = m.wireless.map {
            .init(
                interface: $0.interface,
                signalDBm: $0.hasSignalDbm ? $0.signalDbm : nil,
                bitrateMbps: $0.hasBitrateMbps ? $0.bitrateMbps : nil,
                frequencyMHz: $0.hasFrequencyMhz ? $0.frequencyMhz : nil,
                absentReason: $0.absentReason
            )
        }
        s.topByCPU = m.topByCpu.map(process)
        s.topByMemory = m.topByMemory.map(process)
        return s
    }

    private static func process(_ m: Streamswarm_Mesh_V1_ProcessUsage) -> SystemSnapshot.Process {
        .init(
            pid: Int(m.pid),
            name: m.name,
            cpuPercent: m.hasCpuPercent ? m.cpuPercent : nil,
            residentBytes: m.residentBytes
        )
    }
}
