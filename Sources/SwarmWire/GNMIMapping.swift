// why: decodeGNMI takes a stored payload (Data) and returns SwarmCore's GNMISnapshot.
public import Foundation
public import SwarmCore
import SwarmProto
import SwiftProtobuf

/// gNMI domain types ⇄ their mesh protocol messages (`GnmiConnection` in assignments,
/// `GnmiResult` in measurements).
enum GNMIMapping {
    typealias ProtoConnection = Streamswarm_Mesh_V1_GnmiConnection
    typealias ProtoSubscription = Streamswarm_Mesh_V1_GnmiSubscription

    static func connection(_ c: GNMIConnection) -> ProtoConnection {
        var p = ProtoConnection()
        p.name = c.name
        p.address = c.address
        p.port = UInt32(clamping: c.port)
        p.auth =
            switch c.auth {
            case .password: .password
            case .certificate: .certificate
            case .certificateAndPassword: .certificateAndPassword
            }
        p.username = c.username
        p.password = c.password
        p.clientCertificatePem = c.clientCertificatePEM
        p.clientKeyPem = c.clientKeyPEM
        p.caCertificatePem = c.caCertificatePEM
        p.serverName = c.serverName
        p.pinnedCertificatePem = c.pinnedCertificatePEM
        p.subscriptions = c.subscriptions.map(subscription)
        p.mode =
            switch c.mode {
            case .stream: .stream
            case .poll: .poll
            case .once: .once
            }
        p.encoding =
            switch c.encoding {
            case .jsonIETF: .jsonIetf
            case .json: .json
            case .proto: .proto
            case .ascii: .ascii
            case .bytes: .bytes
            }
        p.pollIntervalMs = UInt32(clamping: c.pollInterval.milliseconds)
        return p
    }

    static func connection(_ p: ProtoConnection) -> GNMIConnection {
        let auth: GNMIConnection.Auth =
            switch p.auth {
            case .certificate: .certificate
            case .certificateAndPassword: .certificateAndPassword
            default: .password
            }
        let mode: GNMIConnection.Mode =
            switch p.mode {
            case .poll: .poll
            case .once: .once
            default: .stream
            }
        let encoding: GNMIConnection.Encoding =
            switch p.encoding {
            case .json: .json
            case .proto: .proto
            case .ascii: .ascii
            case .bytes: .bytes
            default: .jsonIETF
            }
        return GNMIConnection(
            name: p.name,
            address: p.address,
            port: Int(p.port),
            auth: auth,
            username: p.username,
            password: p.password,
            clientCertificatePEM: p.clientCertificatePem,
            clientKeyPEM: p.clientKeyPem,
            caCertificatePEM: p.caCertificatePem,
            serverName: p.serverName,
            pinnedCertificatePEM: p.pinnedCertificatePem,
            subscriptions: p.subscriptions.map(subscription),
            mode: mode,
            encoding: encoding,
            pollInterval: p.pollIntervalMs > 0 ? .milliseconds(Int64(p.pollIntervalMs)) : .seconds(10)
        )
    }

    static func subscription(_ s: GNMISubscription) -> ProtoSubscription {
        var p = ProtoSubscription()
        p.path = s.path
        p.mode =
            switch s.mode {
            case .targetDefined: .targetDefined
            case .onChange: .onChange
            case .sample: .sample
            }
        p.sampleIntervalMs = UInt64(max(0, s.sampleInterval.milliseconds))
        p.heartbeatIntervalMs = UInt64(max(0, s.heartbeatInterval.milliseconds))
        p.suppressRedundant = s.suppressRedundant
        return p
    }

    static func subscription(_ p: ProtoSubscription) -> GNMISubscription {
        let mode: GNMISubscription.Mode =
            switch p.mode {
            case .onChange: .onChange
            case .sample: .sample
            default: .targetDefined
            }
        return GNMISubscription(
            path: p.path,
            mode: mode,
            sampleInterval: .milliseconds(Int64(clamping: p.sampleIntervalMs)),
            heartbeatInterval: .milliseconds(Int64(clamping: p.heartbeatIntervalMs)),
            suppressRedundant: p.suppressRedundant
        )
    }

    static func result(_ s: GNMISnapshot) -> Streamswarm_Mesh_V1_GnmiResult {
        var r = Streamswarm_Mesh_V1_GnmiResult()
        r.deviceID = s.deviceID
        r.deviceName = s.deviceName
        r.deviceAddress = s.deviceAddress
        r.interfaces = s.interfaces.map { i in
            var p = Streamswarm_Mesh_V1_GnmiInterface()
            p.name = i.name
            p.inOctets = i.inOctets
            p.outOctets = i.outOctets
            p.inPackets = i.inPackets
            p.outPackets = i.outPackets
            p.inErrors = i.inErrors
            p.outErrors = i.outErrors
            p.inDiscards = i.inDiscards
            p.outDiscards = i.outDiscards
            p.inFcsErrors = i.inFCSErrors
            p.carrierTransitions = i.carrierTransitions
            if let v = i.inBitsPerSecond { p.inBps = v }
            if let v = i.outBitsPerSecond { p.outBps = v }
            if let v = i.inUtilisationPercent { p.inUtilisationPercent = v }
            if let v = i.outUtilisationPercent { p.outUtilisationPercent = v }
            p.operStatus = i.operStatus
            if let v = i.speedBitsPerSecond { p.speedBps = v }
            return p
        }
        if let v = s.cpuPercent { r.cpuPercent = v }
        if let v = s.memoryUsedBytes { r.memoryUsedBytes = v }
        if let v = s.memoryTotalBytes { r.memoryTotalBytes = v }
        r.queues = s.queues.map { q in
            var p = Streamswarm_Mesh_V1_GnmiQueue()
            p.interface = q.interface
            p.queue = q.queue
            p.transmittedPackets = q.transmittedPackets
            p.droppedPackets = q.droppedPackets
            return p
        }
        if let v = s.rpcLatency { r.rpcLatencyUs = v.microseconds }
        if let t = s.deviceTimestamp { r.deviceTimestampUnixNanos = t.unixNanos }
        r.updates = UInt64(max(0, s.updates))
        if let c = s.capabilities {
            var p = Streamswarm_Mesh_V1_GnmiCapabilities()
            p.version = c.version
            p.encodings = c.encodings
            p.models = c.models.map { m in
                var model = Streamswarm_Mesh_V1_GnmiModel()
                model.name = m.name
                model.organization = m.organization
                model.version = m.version
                return model
            }
            r.capabilities = p
        }
        r.errorKind = s.errorKind
        return r
    }
}

extension GNMIMapping {
    static func snapshot(_ r: Streamswarm_Mesh_V1_GnmiResult) -> GNMISnapshot {
        var s = GNMISnapshot(deviceID: r.deviceID, deviceName: r.deviceName, deviceAddress: r.deviceAddress)
        s.interfaces = r.interfaces.map { p in
            var i = GNMISnapshot.Interface(name: p.name)
            i.inOctets = p.inOctets
            i.outOctets = p.outOctets
            i.inPackets = p.inPackets
            i.outPackets = p.outPackets
            i.inErrors = p.inErrors
            i.outErrors = p.outErrors
            i.inDiscards = p.inDiscards
            i.outDiscards = p.outDiscards
            i.inFCSErrors = p.inFcsErrors
            i.carrierTransitions = p.carrierTransitions
            i.inBitsPerSecond = p.hasInBps ? p.inBps : nil
            i.outBitsPerSecond = p.hasOutBps ? p.outBps : nil
            i.inUtilisationPercent = p.hasInUtilisationPercent ? p.inUtilisationPercent : nil
            i.outUtilisationPercent = p.hasOutUtilisationPercent ? p.outUtilisationPercent : nil
            i.operStatus = p.operStatus
            i.speedBitsPerSecond = p.hasSpeedBps ? p.speedBps : nil
            return i
        }
        s.cpuPercent = r.hasCpuPercent ? r.cpuPercent : nil
        s.memoryUsedBytes = r.hasMemoryUsedBytes ? r.memoryUsedBytes : nil
        s.memoryTotalBytes = r.hasMemoryTotalBytes ? r.memoryTotalBytes : nil
        s.queues = r.queues.map { p in
            var q = GNMISnapshot.Queue(interface: p.interface, queue: p.queue)
            q.transmittedPackets = p.transmittedPackets
            q.droppedPackets = p.droppedPackets
            return q
        }
        s.rpcLatency = r.hasRpcLatencyUs ? MeasurementEncoding.duration(micros: r.rpcLatencyUs) : nil
        s.deviceTimestamp = r.deviceTimestampUnixNanos > 0 ? Timestamp(unixNanos: r.deviceTimestampUnixNanos) : nil
        s.updates = Int(clamping: r.updates)
        if r.hasCapabilities {
            s.capabilities = GNMISnapshot.Capabilities(
                models: r.capabilities.models.map {
                    .init(name: $0.name, organization: $0.organization, version: $0.version)
                },
                encodings: r.capabilities.encodings,
                version: r.capabilities.version
            )
        }
        s.errorKind = r.errorKind
        return s
    }
}

extension MeasurementEncoding {
    /// Decodes a stored `gnmi` payload (tables, benchmarks); ``decodeResult(kind:payload:)``'s gnmi
    /// mapping, except that an empty payload reads as an empty snapshot rather than nil.
    public static func decodeGNMI(_ payload: Data) throws -> GNMISnapshot {
        GNMIMapping.snapshot(try Streamswarm_Mesh_V1_GnmiResult(serializedBytes: payload))
    }
}
