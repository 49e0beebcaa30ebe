// why: encode/decode exchange serialized measurements as Foundation Data.
public import Foundation
public import SwarmCore
import SwarmProto
import SwiftProtobuf

/// Turns probe observations into serialized `streamswarm.mesh.v1.Measurement`s (agent side), and
/// stored result payloads back into readable form (server, CLI).
public enum MeasurementEncoding {
    /// Serializes an observation with the spool's sequence number.
    public static func encode(_ observation: ProbeObservation, sequence: UInt64) throws -> Data {
        try message(observation, sequence: sequence).serializedData()
    }

    /// A serialized measurement with its result removed and marked failed with `reason`, keeping
    /// its test, revision, kind, sequence and time: what the agent sends in place of a result too
    /// large for any batch, so the stream moves on and the loss is visible.
    ///
    /// - Throws: when `payload` is not a serialized `Measurement`.
    public static func failed(_ payload: Data, reason: String) throws -> Data {
        var m = try Streamswarm_Mesh_V1_Measurement(serializedBytes: payload)
        m.result = nil
        m.status = .failed
        m.reason = reason
        return try m.serializedData()
    }

    /// An observation as proto3 JSON of the whole `Measurement` (what `streamswarm probe --json` prints).
    public static func observationJSON(_ observation: ProbeObservation) throws -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = false
        return try message(observation, sequence: 0).jsonString(options: options)
    }

    static func message(_ observation: ProbeObservation, sequence: UInt64) -> Streamswarm_Mesh_V1_Measurement {
        var m = Streamswarm_Mesh_V1_Measurement()
        m.testID = observation.testID.rawValue
        m.revision = UInt32(clamping: observation.revision)
        m.sequence = sequence
        m.kind = MeshCodec.probeKind(observation.kind)
        m.startedUnixNanos = observation.startedAt.unixNanos
        m.durationNanos = observation.duration.nanoseconds
        m.status = MeshCodec.status(observation.status)
        m.reason = observation.reason
        switch observation.result {
        case .tcp(let r): m.tcp = tcp(r)
        case .system(let s): m.system = system(s)
        case .icmp(let r): m.icmp = icmp(r)
        case .udp(let r): m.udp = udp(r)
        case .dns(let r): m.dns = dns(r)
        case .http(let r): m.http = http(r)
        case .traceroute(let r): m.traceroute = traceroute(r)
        case .mtu(let r): m.mtu = mtu(r)
        case .bandwidth(let r): m.bandwidth = bandwidth(r)
        case .gnmi(let r): m.gnmi = GNMIMapping.result(r)
        case nil: break
        }
        return m
    }

    /// Puts a stored payload back into a measurement's result oneof.
    static func setResult(_ m: inout Streamswarm_Mesh_V1_Measurement, kind: ProbeKind, payload: Data) throws {
        guard !payload.isEmpty else { return }
        switch kind {
        case .icmp: m.icmp = try .init(serializedBytes: payload)
        case .udp: m.udp = try .init(serializedBytes: payload)
        case .tcp: m.tcp = try .init(serializedBytes: payload)
        case .dns: m.dns = try .init(serializedBytes: payload)
        case .http: m.http = try .init(serializedBytes: payload)
        case .traceroute: m.traceroute = try .init(serializedBytes: payload)
        case .mtu: m.mtu = try .init(serializedBytes: payload)
        case .bandwidth: m.bandwidth = try .init(serializedBytes: payload)
        case .system: m.system = try .init(serializedBytes: payload)
        case .gnmi: m.gnmi = try .init(serializedBytes: payload)
        }
    }

    /// The figure charts plot by default: connect time (µs) for tcp, average RTT (µs) for icmp/udp,
    /// query time for dns, total time for http, CPU % for system, path MTU, download Mbit/s.
    static func headlineValue(of m: Streamswarm_Mesh_V1_Measurement) -> Double? {
        switch m.result {
        case .tcp(let r): r.hasConnectUs ? r.connectUs : nil
        case .icmp(let r): r.rtt.hasAvgUs ? r.rtt.avgUs : nil
        case .udp(let r): r.rtt.hasAvgUs ? r.rtt.avgUs : nil
        case .dns(let r): r.hasQueryTimeUs ? r.queryTimeUs : nil
        case .http(let r): r.phases.totalUs
        case .system(let r): r.hasCpuPercent ? r.cpuPercent : nil
        case .mtu(let r): r.hasPathMtu ? Double(r.pathMtu) : nil
        case .bandwidth(let r): r.hasDownloadMbps ? r.downloadMbps : (r.hasUploadMbps ? r.uploadMbps : nil)
        case .traceroute(let r): Double(r.hops.count)
        case .gnmi(let r): r.hasCpuPercent ? r.cpuPercent : nil
        case nil: nil
        }
    }

    /// Loss, jitter and the in-run min–max spread, where the kind has them.
    static func figures(of m: Streamswarm_Mesh_V1_Measurement) -> MeasurementFigures {
        func rtt(_ s: Streamswarm_Mesh_V1_RttSummary, loss: Double) -> MeasurementFigures {
            MeasurementFigures(
                lossPercent: loss,
                jitterMicros: s.hasJitterUs ? s.jitterUs : nil,
                low: s.hasMinUs ? s.minUs : nil,
                high: s.hasMaxUs ? s.maxUs : nil
            )
        }
        switch m.result {
        case .icmp(let r): return rtt(r.rtt, loss: r.lossPercent)
        case .udp(let r): return rtt(r.rtt, loss: r.lossPercent)
        case .traceroute(let r):
            let last = r.hops.last
            return MeasurementFigures(
                lossPercent: last?.lossPercent,
                low: last?.rttsUs.min(),
                high: last?.rttsUs.max()
            )
        default: return MeasurementFigures()
        }
    }

    /// A stored result payload as proto3 JSON (the mapping the gateway and `--json` output use).
    public static func resultJSON(kind: ProbeKind, payload: Data) throws -> String {
        var m = Streamswarm_Mesh_V1_Measurement()
        try setResult(&m, kind: kind, payload: payload)
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = false
        switch m.result {
        case .icmp(let r): return try r.jsonString(options: options)
        case .udp(let r): return try r.jsonString(options: options)
        case .tcp(let r): return try r.jsonString(options: options)
        case .dns(let r): return try r.jsonString(options: options)
        case .http(let r): return try r.jsonString(options: options)
        case .traceroute(let r): return try r.jsonString(options: options)
        case .mtu(let r): return try r.jsonString(options: options)
        case .bandwidth(let r): return try r.jsonString(options: options)
        case .system(let r): return try r.jsonString(options: options)
        case .gnmi(let r): return try r.jsonString(options: options)
        case nil: return "{}"
        }
    }

    /// Decodes a stored tcp payload (for tables and tests); ``decodeResult(kind:payload:)``'s tcp
    /// mapping, except that an empty payload reads as an empty result rather than nil.
    public static func decodeTCP(_ payload: Data) throws -> TCPProbeResult {
        tcp(try Streamswarm_Mesh_V1_TcpResult(serializedBytes: payload))
    }

    // MARK: - Domain → proto results

    static func tcp(_ r: TCPProbeResult) -> Streamswarm_Mesh_V1_TcpResult {
        var m = Streamswarm_Mesh_V1_TcpResult()
        m.address = r.address
        m.port = UInt32(clamping: r.port)
        m.outcome =
            switch r.outcome {
            case .connected: .connected
            case .refused: .refused
            case .timeout: .timeout
            case .unreachable: .unreachable
            case .expectMismatch: .expectMismatch
            case .error: .error
            }
        if let connect = r.connectTime { m.connectUs = Double(connect.nanoseconds) / 1000 }
        if let i = r.info {
            var info = Streamswarm_Mesh_V1_TcpInfo()
            info.rttUs = i.rttMicros
            info.rttvarUs = i.rttvarMicros
            info.minRttUs = i.minRttMicros
            info.sndCwnd = i.sndCwnd
            info.sndSsthresh = i.sndSsthresh
            info.sndMss = i.sndMss
            info.advmss = i.advmss
            info.pmtu = i.pmtu
            info.retransmits = i.retransmits
            info.totalRetrans = i.totalRetrans
            info.deliveryRateBps = i.deliveryRateBytesPerSecond
            info.sndWscale = i.sndWscale
            info.rcvWscale = i.rcvWscale
            info.ecnNegotiated = i.ecnNegotiated
            info.state = i.state
            m.info = info
        }
        m.congestionControl = r.congestionControl
        if let matched = r.expectMatched { m.expectMatched = matched }
        m.error = r.error
        m.dscp = UInt32(clamping: r.dscp)
        return m
    }

    static func system(_ s: SystemSnapshot) -> Streamswarm_Mesh_V1_SystemResult {
        var m = Streamswarm_Mesh_V1_SystemResult()
        if let v = s.cpuPercent { m.cpuPercent = v }
        m.cores = s.cores.map {
            var c = Streamswarm_Mesh_V1_CpuCore()
            c.core = UInt32(clamping: $0.core)
            c.percent = $0.percent
            if let f = $0.frequencyMHz { c.frequencyMhz = f }
            return c
        }
        m.load1 = s.load1
        m.load5 = s.load5
        m.load15 = s.load15
        m.coreCount = UInt32(clamping: s.coreCount)
        if let v = s.cpuFrequencyMHz { m.cpuFrequencyMhz = v }
        if let v = s.contextSwitchesPerSecond { m.contextSwitchesPerSecond = v }
        if let v = s.interruptsPerSecond { m.interruptsPerSecond = v }
        m.memoryTotalBytes = s.memoryTotalBytes
        m.memoryUsedBytes = s.memoryUsedBytes
        m.memoryAvailableBytes = s.memoryAvailableBytes
        m.memoryCachedBytes = s.memoryCachedBytes
        m.memoryBuffersBytes = s.memoryBuffersBytes
        m.memorySharedBytes = s.memorySharedBytes
        m.swapTotalBytes = s.swapTotalBytes
        m.swapUsedBytes = s.swapUsedBytes
        m.mounts = s.mounts.map {
            var x = Streamswarm_Mesh_V1_MountUsage()
            x.mountPoint = $0.mountPoint
            x.device = $0.device
            x.fsType = $0.fsType
            x.totalBytes = $0.totalBytes
            x.usedBytes = $0.usedBytes
            x.usedPercent = $0.usedPercent
            return x
        }
        m.disks = s.disks.map {
            var x = Streamswarm_Mesh_V1_DiskIo()
            x.device = $0.device
            x.readIops = $0.readIOPS
            x.writeIops = $0.writeIOPS
            x.readBytesPerSecond = $0.readBytesPerSecond
            x.writeBytesPerSecond = $0.writeBytesPerSecond
            x.utilisationPercent = $0.utilisationPercent
            return x
        }
        m.processCount = UInt32(clamping: s.processCount)
        m.openFiles = s.openFiles
        var sockets = Streamswarm_Mesh_V1_TcpSocketStates()
        sockets.inUse = UInt32(clamping: s.tcpSockets.inUse)
        sockets.orphan = UInt32(clamping: s.tcpSockets.orphan)
        sockets.timeWait = UInt32(clamping: s.tcpSockets.timeWait)
        sockets.allocated = UInt32(clamping: s.tcpSockets.allocated)
        m.tcpSockets = sockets
        if let v = s.tcpRetransmitPercent { m.tcpRetransmitPercent = v }
        m.interfaces = s.interfaces.map {
            var x = Streamswarm_Mesh_V1_InterfaceStats()
            x.name = $0.name
            x.rxBytesPerSecond = $0.rxBytesPerSecond
            x.txBytesPerSecond = $0.txBytesPerSecond
            x.rxPacketsPerSecond = $0.rxPacketsPerSecond
            x.txPacketsPerSecond = $0.txPacketsPerSecond
            x.rxErrors = $0.rxErrors
            x.txErrors = $0.txErrors
            x.rxDrops = $0.rxDrops
            x.txDrops = $0.txDrops
            if let speed = $0.speedMbps { x.speedMbps = UInt32(clamping: speed) }
            x.mtu = UInt32(clamping: $0.mtu)
            x.operState = $0.operState
            return x
        }
        m.sensors = s.sensors.map {
            var x = Streamswarm_Mesh_V1_SensorReading()
            x.name = $0.name
            x.kind = $0.kind
            x.value = $0.value
            return x
        }
        m.wireless = s.wireless.map {
            var x = Streamswarm_Mesh_V1_WirelessLink()
            x.interface = $0.interface
            if let v = $0.signalDBm { x.signalDbm = v }
            if let v = $0.bitrateMbps { x.bitrateMbps = v }
            if let v = $0.frequencyMHz { x.frequencyMhz = v }
            x.absentReason = $0.absentReason
            return x
        }
        m.topByCpu = s.topByCPU.map(process)
        m.topByMemory = s.topByMemory.map(process)
        return m
    }

    private static func process(_ p: SystemSnapshot.Process) -> Streamswarm_Mesh_V1_ProcessUsage {
        var x = Streamswarm_Mesh_V1_ProcessUsage()
        x.pid = UInt32(clamping: p.pid)
        x.name = p.name
        if let v = p.cpuPercent { x.cpuPercent = v }
        x.residentBytes = p.residentBytes
        return x
    }
}
