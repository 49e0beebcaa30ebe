// why: Data carries serialized measurements in the public API.
public import Foundation
// why: encode/decode take and return NIO ByteBuffers and ByteBufferAllocators.
public import NIOCore
public import SwarmCore
import SwarmProto
import SwiftProtobuf

/// Maps ``MeshMessage`` to and from ``MeshFrame`` payloads (serialized `streamswarm.mesh.v1.Frame`).
///
/// This is the only place generated protobuf types meet domain types on the mesh path.
public enum MeshCodec {
    /// Serializes a message into a frame.
    public static func encode(
        _ message: MeshMessage,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws
        -> MeshFrame
    {
        let frame = try makeFrame(message)
        let bytes: [UInt8] = try frame.serializedBytes()
        return MeshFrame(payload: allocator.buffer(bytes: bytes))
    }

    /// A `ResultBatch` frame built from measurements that are already serialized (the agent's spool
    /// keeps them that way).
    public static func encodeResultBatch(
        batchID: UInt64,
        encodedMeasurements: [Data],
        createdAt: Timestamp,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws -> MeshFrame {
        var batch = Streamswarm_Mesh_V1_ResultBatch()
        batch.batchID = batchID
        batch.createdUnixNanos = createdAt.unixNanos
        batch.measurements = try encodedMeasurements.map { try Streamswarm_Mesh_V1_Measurement(serializedBytes: $0) }
        var frame = Streamswarm_Mesh_V1_Frame()
        frame.resultBatch = batch
        let bytes: [UInt8] = try frame.serializedBytes()
        return MeshFrame(payload: allocator.buffer(bytes: bytes))
    }

    /// Parses a frame into a message.
    ///
    /// - Throws: ``WireError`` `.malformedPayload` when the bytes are not a `Frame`, `.emptyFrame` when
    ///   it holds no message this version knows, `.invalidField` when a field breaks the contract.
    public static func decode(_ frame: MeshFrame) throws(WireError) -> MeshMessage {
        // Result batches are nearly all the traffic: take them from the wire bytes directly.
        if let batch = frame.payload.withUnsafeReadableBytes({ decodeResultBatchFast($0) }) {
            return .resultBatch(batch)
        }
        let parsed: Streamswarm_Mesh_V1_Frame
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 32
            parsed = try Streamswarm_Mesh_V1_Frame(
                serializedBytes: Array(frame.payload.readableBytesView),
                options: options
            )
        } catch {
            throw WireError(
                code: .malformedPayload,
                message:
                    "frame payload of \(frame.payload.readableBytes) bytes is not a valid streamswarm.mesh.v1.Frame",
                cause: error
            )
        }
        guard let body = parsed.body else {
            throw WireError(
                code: .emptyFrame,
                message: "frame carries no message this protocol version knows (empty or newer body field)"
            )
        }
        switch body {
        case .hello(let m):
            return .hello(
                Mesh.Hello(
                    protocolVersion: m.protocolVersion,
                    agentVersion: m.agentVersion,
                    host: hostFacts(m.host),
                    capabilities: m.capabilities.compactMap(probeKind),
                    lastAckedBatchID: m.lastAckedBatchID,
                    spoolDepth: m.spoolDepth,
                    running: m.running.map { Mesh.AssignmentRef(testID: TestID($0.testID), revision: Int($0.revision)) }
                )
            )
        case .welcome(let m):
            return .welcome(
                Mesh.Welcome(
                    sessionID: m.sessionID,
                    agentName: m.agentName,
                    heartbeatInterval: .milliseconds(Int64(m.heartbeatIntervalMs)),
                    serverTime: Timestamp(unixNanos: m.serverTimeUnixNanos),
                    serverVersion: m.serverVersion,
                    maxFrameBytes: Int(m.maxFrameBytes),
                    maxInFlightBatches: Int(m.maxInFlightBatches),
                    protocolVersion: m.protocolVersion,
                    responderKey: ResponderKey(bytes: Array(m.responderKey)),
                    lastBatchID: m.lastBatchID
                )
            )
        case .heartbeat(let m):
            return .heartbeat(
                Mesh.Heartbeat(sequence: m.sequence, sentAt: Timestamp(unixNanos: m.sentUnixNanos), load: load(m.load))
            )
        case .heartbeatAck(let m):
            return .heartbeatAck(
                Mesh.HeartbeatAck(
                    sequence: m.sequence,
                    agentSentAt: Timestamp(unixNanos: m.agentSentUnixNanos),
                    serverReceivedAt: Timestamp(unixNanos: m.serverReceivedUnixNanos),
                    serverSentAt: Timestamp(unixNanos: m.serverSentUnixNanos)
                )
            )
        case .testAssignment(let m):
            var assignment: TestAssignment?
            if m.testID != 0 {
                guard m.hasSpec else {
                    throw WireError(code: .invalidField, message: "TestAssignment for test \(m.testID) has no spec")
                }
                assignment = TestAssignment(
                    testID: TestID(m.testID),
                    revision: Int(m.revision),
                    spec: TestSpecMapping.spec(m.spec)
                )
            }
            return .assignment(
                Mesh.Assignment(assignment: assignment, snapshot: m.snapshot, lastOfSnapshot: m.lastOfSnapshot)
            )
        case .assignmentAck(let m):
            return .assignmentAck(
                Mesh.AssignmentAck(
                    testID: TestID(m.testID),
                    revision: Int(m.revision),
                    accepted: m.accepted,
                    reason: m.reason
                )
            )
        case .testCancel(let m):
            return .cancel(Mesh.Cancel(testID: TestID(m.testID), revision: Int(m.revision), reason: m.reason))
        case .resultBatch(let m):
            // Reached only for unusual encodings (a repeated body field, say): normalise the batch
            // and decode it on the one path that checks measurements.
            var normal = Streamswarm_Mesh_V1_Frame()
            normal.resultBatch = m
            guard let bytes: [UInt8] = try? normal.serializedBytes(),
                let batch = bytes.withUnsafeBytes({ decodeResultBatchFast($0) })
            else {
                throw WireError(code: .malformedPayload, message: "ResultBatch \(m.batchID) could not be decoded")
            }
            return .resultBatch(batch)
        case .batchAck(let m):
            return .batchAck(Mesh.BatchAck(batchID: m.batchID, storedCount: Int(m.storedCount), duplicate: m.duplicate))
        case .goodbye(let m):
            return .goodbye(
                Mesh.Goodbye(
                    reason: goodbyeReason(m.reason),
                    message: m.message,
                    reconnectAfter: .milliseconds(Int64(m.reconnectAfterMs)),
                    redirect: m.redirect
                )
            )
        case .error(let m):
            return .error(
                Mesh.ErrorMessage(
                    code: errorCode(m.code),
                    message: m.message,
                    fatal: m.fatal,
                    batchID: m.batchID,
                    lastBatchID: m.lastBatchID
                )
            )
        }
    }

    // MARK: - Domain → proto

    static func makeFrame(_ message: MeshMessage) throws -> Streamswarm_Mesh_V1_Frame {
        var frame = Streamswarm_Mesh_V1_Frame()
        switch message {
        case .hello(let h):
            var m = Streamswarm_Mesh_V1_Hello()
            m.protocolVersion = h.protocolVersion
            m.agentVersion = h.agentVersion
            m.host = hostFacts(h.host)
            m.capabilities = h.capabilities.map(probeKind)
            m.lastAckedBatchID = h.lastAckedBatchID
            m.spoolDepth = h.spoolDepth
            m.running = h.running.map {
                var ref = Streamswarm_Mesh_V1_AssignmentRef()
                ref.testID = $0.testID.rawValue
                ref.revision = UInt32(clamping: $0.revision)
                return ref
            }
            frame.hello = m
        case .welcome(let w):
            var m = Streamswarm_Mesh_V1_Welcome()
            m.sessionID = w.sessionID
            m.agentName = w.agentName
            m.heartbeatIntervalMs = UInt32(clamping: w.heartbeatInterval.milliseconds)
            m.serverTimeUnixNanos = w.serverTime.unixNanos
            m.serverVersion = w.serverVersion
            m.maxFrameBytes = UInt32(clamping: w.maxFrameBytes)
            m.maxInFlightBatches = UInt32(clamping: w.maxInFlightBatches)
            m.protocolVersion = w.protocolVersion
            if let key = w.responderKey { m.responderKey = Data(key.bytes) }
            m.lastBatchID = w.lastBatchID
            frame.welcome = m
        case .heartbeat(let h):
            var m = Streamswarm_Mesh_V1_Heartbeat()
            m.sequence = h.sequence
            m.sentUnixNanos = h.sentAt.unixNanos
            m.load = load(h.load)
            frame.heartbeat = m
        case .heartbeatAck(let a):
            var m = Streamswarm_Mesh_V1_HeartbeatAck()
            m.sequence = a.sequence
            m.agentSentUnixNanos = a.agentSentAt.unixNanos
            m.serverReceivedUnixNanos = a.serverReceivedAt.unixNanos
            m.serverSentUnixNanos = a.serverSentAt.unixNanos
            frame.heartbeatAck = m
        case .assignment(let a):
            var m = Streamswarm_Mesh_V1_TestAssignment()
            if let assignment = a.assignment {
                m.testID = assignment.testID.rawValue
                m.revision = UInt32(clamping: assignment.revision)
                m.spec = TestSpecMapping.proto(assignment.spec)
            }
            m.snapshot = a.snapshot
            m.lastOfSnapshot = a.lastOfSnapshot
            frame.testAssignment = m
        case .assignmentAck(let a):
            var m = Streamswarm_Mesh_V1_AssignmentAck()
            m.testID = a.testID.rawValue
            m.revision = UInt32(clamping: a.revision)
            m.accepted = a.accepted
            m.reason = a.reason
            frame.assignmentAck = m
        case .cancel(let c):
            var m = Streamswarm_Mesh_V1_TestCancel()
            m.testID = c.testID.rawValue
            m.revision = UInt32(clamping: c.revision)
            m.reason = c.reason
            frame.testCancel = m
        case .resultBatch(let b):
            var m = Streamswarm_Mesh_V1_ResultBatch()
            m.batchID = b.batchID
            m.createdUnixNanos = b.createdAt.unixNanos
            m.measurements = try b.measurements.map(measurement)
            frame.resultBatch = m
        case .batchAck(let a):
            var m = Streamswarm_Mesh_V1_BatchAck()
            m.batchID = a.batchID
            m.storedCount = UInt32(clamping: a.storedCount)
            m.duplicate = a.duplicate
            frame.batchAck = m
        case .goodbye(let g):
            var m = Streamswarm_Mesh_V1_Goodbye()
            m.reason = goodbyeReason(g.reason)
            m.message = g.message
            m.reconnectAfterMs = UInt32(clamping: g.reconnectAfter.milliseconds)
            m.redirect = g.redirect
            frame.goodbye = m
        case .error(let e):
            var m = Streamswarm_Mesh_V1_Error()
            m.code = errorCode(e.code)
            m.message = e.message
            m.fatal = e.fatal
            m.batchID = e.batchID
            m.lastBatchID = e.lastBatchID
            frame.error = m
        }
        return frame
    }

    // MARK: - Field mappings

    static func hostFacts(_ m: Streamswarm_Mesh_V1_HostFacts) -> HostFacts {
        HostFacts(
            hostname: m.hostname,
            osName: m.osName,
            osVersion: m.osVersion,
            kernel: m.kernel,
            arch: m.arch,
            cpuCount: Int(m.cpuCount),
            memoryBytes: m.memoryBytes,
            bootTime: m.bootTimeUnixNanos == 0 ? nil : Timestamp(unixNanos: m.bootTimeUnixNanos),
            responder: m.responderAddress.isEmpty
                ? nil
                : ResponderEndpoint(
                    address: m.responderAddress,
                    udpPort: Int(m.responderUdpPort),
                    bandwidthPort: Int(m.responderBandwidthPort)
                )
        )
    }

    static func hostFacts(_ h: HostFacts) -> Streamswarm_Mesh_V1_HostFacts {
        var m = Streamswarm_Mesh_V1_HostFacts()
        m.hostname = h.hostname
        m.osName = h.osName
        m.osVersion = h.osVersion
        m.kernel = h.kernel
        m.arch = h.arch
        m.cpuCount = UInt32(clamping: h.cpuCount)
        m.memoryBytes = h.memoryBytes
        m.bootTimeUnixNanos = h.bootTime?.unixNanos ?? 0
        if let responder = h.responder {
            m.responderAddress = responder.address
            m.responderUdpPort = UInt32(clamping: responder.udpPort)
            m.responderBandwidthPort = UInt32(clamping: responder.bandwidthPort)
        }
        return m
    }

    static func load(_ m: Streamswarm_Mesh_V1_LoadSnapshot) -> LoadSnapshot {
        LoadSnapshot(
            load1: m.load1,
            cpuPercent: m.cpuPercent,
            memoryUsedBytes: m.memoryUsedBytes,
            spoolDepth: m.spoolDepth,
            testsRunning: Int(m.testsRunning),
            batchesInFlight: Int(m.batchesInFlight)
        )
    }

    static func load(_ l: LoadSnapshot) -> Streamswarm_Mesh_V1_LoadSnapshot {
        var m = Streamswarm_Mesh_V1_LoadSnapshot()
        m.load1 = l.load1
        m.cpuPercent = l.cpuPercent
        m.memoryUsedBytes = l.memoryUsedBytes
        m.spoolDepth = l.spoolDepth
        m.testsRunning = UInt32(clamping: l.testsRunning)
        m.batchesInFlight = UInt32(clamping: l.batchesInFlight)
        return m
    }

    static func probeKind(_ m: Streamswarm_Mesh_V1_ProbeKind) -> ProbeKind? {
        switch m {
        case .icmp: .icmp
        case .udp: .udp
        case .tcp: .tcp
        case .dns: .dns
        case .http: .http
        case .traceroute: .traceroute
        case .mtu: .mtu
        case .bandwidth: .bandwidth
        case .system: .system
        case .gnmi: .gnmi
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    static func probeKind(_ k: ProbeKind) -> Streamswarm_Mesh_V1_ProbeKind {
        switch k {
        case .icmp: .icmp
        case .udp: .udp
        case .tcp: .tcp
        case .dns: .dns
        case .http: .http
        case .traceroute: .traceroute
        case .mtu: .mtu
        case .bandwidth: .bandwidth
        case .system: .system
        case .gnmi: .gnmi
        }
    }

    static func status(_ m: Streamswarm_Mesh_V1_MeasurementStatus) -> MeasurementStatus? {
        switch m {
        case .ok: .ok
        case .failed: .failed
        case .timeout: .timeout
        case .notPermitted: .notPermitted
        case .unsupported: .unsupported
        case .missed: .missed
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    static func status(_ s: MeasurementStatus) -> Streamswarm_Mesh_V1_MeasurementStatus {
        switch s {
        case .ok: .ok
        case .failed: .failed
        case .timeout: .timeout
        case .notPermitted: .notPermitted
        case .unsupported: .unsupported
        case .missed: .missed
        }
    }

    static func goodbyeReason(_ m: Streamswarm_Mesh_V1_Goodbye.Reason) -> Mesh.Goodbye.Reason {
        switch m {
        case .shutdown: .shutdown
        case .drain: .drain
        case .replaced: .replaced
        case .restart: .restart
        case .unspecified, .UNRECOGNIZED: .unspecified
        }
    }

    static func goodbyeReason(_ r: Mesh.Goodbye.Reason) -> Streamswarm_Mesh_V1_Goodbye.Reason {
        switch r {
        case .shutdown: .shutdown
        case .drain: .drain
        case .replaced: .replaced
        case .restart: .restart
        case .unspecified: .unspecified
        }
    }

    static func errorCode(_ m: Streamswarm_Mesh_V1_Error.Code) -> Mesh.ErrorMessage.Code {
        switch m {
        case .unsupportedProtocolVersion: .unsupportedProtocolVersion
        case .malformedFrame: .malformedFrame
        case .frameTooLarge: .frameTooLarge
        case .unknownFlags: .unknownFlags
        case .unexpectedMessage: .unexpectedMessage
        case .unauthenticated: .unauthenticated
        case .revoked: .revoked
        case .invalidBatch: .invalidBatch
        case .internal: .internalError
        case .helloTimeout: .helloTimeout
        case .tooManyInFlight: .tooManyInFlight
        case .storeUnavailable: .storeUnavailable
        case .batchIDReused: .batchIDReused
        case .unspecified, .UNRECOGNIZED: .unspecified
        }
    }

    static func errorCode(_ c: Mesh.ErrorMessage.Code) -> Streamswarm_Mesh_V1_Error.Code {
        switch c {
        case .unsupportedProtocolVersion: .unsupportedProtocolVersion
        case .malformedFrame: .malformedFrame
        case .frameTooLarge: .frameTooLarge
        case .unknownFlags: .unknownFlags
        case .unexpectedMessage: .unexpectedMessage
        case .unauthenticated: .unauthenticated
        case .revoked: .revoked
        case .invalidBatch: .invalidBatch
        case .internalError: .internal
        case .helloTimeout: .helloTimeout
        case .tooManyInFlight: .tooManyInFlight
        case .storeUnavailable: .storeUnavailable
        case .batchIDReused: .batchIDReused
        case .unspecified: .unspecified
        }
    }

    static func measurement(_ d: Mesh.Measurement) throws -> Streamswarm_Mesh_V1_Measurement {
        var m = Streamswarm_Mesh_V1_Measurement()
        m.testID = d.testID.rawValue
        m.revision = UInt32(clamping: d.revision)
        m.sequence = d.sequence
        m.kind = probeKind(d.kind)
        m.startedUnixNanos = d.startedAt.unixNanos
        m.durationNanos = d.duration.nanoseconds
        m.status = status(d.status)
        m.reason = d.reason
        try MeasurementEncoding.setResult(&m, kind: d.kind, payload: d.payload)
        return m
    }
}
