import Foundation
import NIOCore
import SwarmCore
import SwarmProto
import SwarmWire
import SwiftProtobuf
import Testing

@Suite struct MeshCodecTests {
    @Test("a heartbeat frame has the exact bytes any protobuf runtime produces")
    func heartbeatBytes() throws {
        let frame = try MeshCodec.encode(
            .heartbeat(Mesh.Heartbeat(sequence: 1, sentAt: Timestamp(unixNanos: 0), load: LoadSnapshot()))
        )
        // Frame.heartbeat = field 3 (tag 0x1a), length 4: Heartbeat.sequence = field 1 (0x08) value 1,
        // Heartbeat.load = field 3 (0x1a) empty message.
        #expect(Array(frame.payload.readableBytesView) == [0x1A, 0x04, 0x08, 0x01, 0x1A, 0x00])
    }

    @Test("every probe kind's options, mesh peers and the responder key survive encode and decode")
    func probeOptionsRoundTrip() throws {
        var options = TestSpec.Options(packetSize: 120, dscp: 34, sourceAddress: "192.0.2.9", interface: "eth1")
        options.icmp = .init(packetInterval: .milliseconds(200))
        options.udp = .init(packetsPerSecond: 75, duration: .seconds(3), voice: true, ecn: 1)
        options.dns = .init(server: "192.0.2.53:5353", recordType: "AAAA", tcp: true, recursionDesired: false)
        options.http = .init(
            method: "HEAD",
            followRedirects: true,
            maxRedirects: 3,
            expectSubstring: "ok",
            headers: ["X-A": "1"],
            insecureSkipVerify: true
        )
        options.traceroute = .init(mode: .icmp, maxHops: 12, probesPerHop: 2, resolveNames: true)
        options.mtu = .init(minBytes: 1280, maxBytes: 9000)
        options.bandwidth = .init(direction: .both, streams: 4, duration: .seconds(7))
        let spec = TestSpec(
            name: "all",
            probes: [.icmp, .udp, .dns, .http, .traceroute, .mtu, .bandwidth],
            target: .init(host: "", agentName: "peer-1"),
            options: options
        )
        let assignment = TestAssignment(testID: TestID(3), revision: 1, spec: spec)
        let decoded = try MeshCodec.decode(MeshCodec.encode(.assignment(.init(assignment: assignment))))
        guard case .assignment(let message) = decoded else {
            Issue.record("decoded \(decoded)")
            return
        }
        #expect(message.assignment == assignment)

        let key = ResponderKey.random()
        let welcome = try MeshCodec.decode(
            MeshCodec.encode(
                .welcome(
                    Mesh.Welcome(
                        sessionID: "s",
                        agentName: "a",
                        heartbeatInterval: .seconds(1),
                        serverTime: .now(),
                        serverVersion: "v",
                        maxFrameBytes: 1024,
                        maxInFlightBatches: 1,
                        responderKey: key
                    )
                )
            )
        )
        guard case .welcome(let w) = welcome else {
            Issue.record("decoded \(welcome)")
            return
        }
        #expect(w.responderKey == key)
    }

    @Test("an icmp observation encodes every figure, and a lost reply as -1 in the series")
    func icmpResultJSON() throws {
        var result = ICMPProbeResult()
        result.address = "192.0.2.1"
        result.tally.sent = 3
        result.tally.received = 2
        result.rtts = [.milliseconds(10), nil, .milliseconds(12)]
        result.rtt = RTTSummary(rtts: [.milliseconds(10), .milliseconds(12)])
        result.replyTTL = 60
        result.socketMode = "datagram"
        let observation = ProbeObservation(
            testID: TestID(1),
            revision: 1,
            kind: .icmp,
            startedAt: .now(),
            duration: .seconds(1),
            status: .ok,
            result: .icmp(result)
        )
        let json = try MeasurementEncoding.observationJSON(observation)
        #expect(
            json.contains("\"rttsUs\":[10000.0,-1.0,12000.0]") || json.contains("\"rttsUs\":[10000,-1,12000]"),
            "\(json)"
        )
        #expect(json.contains("\"replyTtl\":60"))
        #expect(json.contains("\"lossPercent\":33.3"))
    }

    @Test("every message survives encode and decode")
    func roundTrip() throws {
        let spec = TestSpec(
            name: "web",
            probes: [.tcp],
            target: .init(host: "192.0.2.1", port: 443),
            schedule: .init(interval: .seconds(10), count: 3, timeout: .seconds(2), randomStartOffset: false),
            options: .init(dscp: 46, tcpSend: "GET / HTTP/1.0\r\n\r\n", tcpExpect: "200")
        )
        let messages: [MeshMessage] = [
            .hello(
                Mesh.Hello(
                    agentVersion: "1.2.3",
                    host: HostFacts(hostname: "h", cpuCount: 4, memoryBytes: 8 << 30),
                    capabilities: [.tcp, .system],
                    lastAckedBatchID: 77,
                    spoolDepth: 5
                )
            ),
            .welcome(
                Mesh.Welcome(
                    sessionID: "s",
                    agentName: "a1",
                    heartbeatInterval: .seconds(10),
                    serverTime: .now(),
                    serverVersion: "v",
                    maxFrameBytes: 1 << 22,
                    maxInFlightBatches: 8
                )
            ),
            .assignment(
                Mesh.Assignment(
                    assignment: TestAssignment(testID: TestID(9), revision: 2, spec: spec),
                    snapshot: true,
                    lastOfSnapshot: true
                )
            ),
            .cancel(Mesh.Cancel(testID: TestID(9), revision: 2, reason: "gone")),
            .batchAck(Mesh.BatchAck(batchID: 12, storedCount: 3, duplicate: true)),
            .goodbye(Mesh.Goodbye(reason: .drain, message: "bye", reconnectAfter: .seconds(1))),
            .error(Mesh.ErrorMessage(code: .frameTooLarge, message: "big", fatal: true)),
        ]
        for message in messages {
            let decoded = try MeshCodec.decode(try MeshCodec.encode(message))
            #expect(decoded.name == message.name)
            switch (message, decoded) {
            case (.hello(let a), .hello(let b)):
                #expect(
                    a.host == b.host && a.capabilities == b.capabilities && a.lastAckedBatchID == b.lastAckedBatchID
                )
            case (.welcome(let a), .welcome(let b)):
                #expect(a.heartbeatInterval == b.heartbeatInterval && a.agentName == b.agentName)
            case (.assignment(let a), .assignment(let b)):
                #expect(a.assignment == b.assignment && b.snapshot && b.lastOfSnapshot)
            case (.batchAck(let a), .batchAck(let b)):
                #expect(a.batchID == b.batchID && b.duplicate)
            case (.goodbye(let a), .goodbye(let b)):
                #expect(a.reason == b.reason && a.reconnectAfter == b.reconnectAfter)
            case (.error(let a), .error(let b)):
                #expect(a.code == b.code && a.fatal == b.fatal)
            default:
                break
            }
        }
    }

    @Test("a spooled measurement reaches the server typed, with its headline value")
    func measurementRoundTrip() throws {
        let result = TCPProbeResult(
            address: "127.0.0.1",
            port: 80,
            outcome: .connected,
            connectTime: .microseconds(250),
            congestionControl: "cubic"
        )
        let observation = ProbeObservation(
            testID: TestID(4),
            revision: 1,
            kind: .tcp,
            startedAt: Timestamp(unixNanos: 1_000),
            duration: .milliseconds(1),
            status: .ok,
            result: .tcp(result)
        )
        let encoded = try MeshEncodingFixture.encode(observation, sequence: 42)
        let frame = try MeshCodec.encodeResultBatch(batchID: 7, encodedMeasurements: [encoded], createdAt: .now())
        guard case .resultBatch(let batch) = try MeshCodec.decode(frame) else {
            Issue.record("not a ResultBatch")
            return
        }
        #expect(batch.batchID == 7)
        let m = try #require(batch.measurements.first)
        #expect(m.sequence == 42 && m.kind == .tcp && m.status == .ok && m.testID == TestID(4))
        #expect(m.value == 250)
        let decoded = try MeasurementEncoding.decodeTCP(m.payload)
        #expect(decoded.connectTime == .microseconds(250) && decoded.congestionControl == "cubic")
        let json = try MeasurementEncoding.resultJSON(kind: .tcp, payload: m.payload)
        #expect(json.contains("\"connectUs\":250"))
    }

    @Test("bytes that are not a Frame give malformedPayload")
    func garbage() throws {
        let error = #expect(throws: WireError.self) {
            try MeshCodec.decode(MeshFrame(payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])))
        }
        #expect(error?.code == .malformedPayload)
    }

    @Test("an empty Frame gives emptyFrame")
    func emptyFrame() throws {
        let error = #expect(throws: WireError.self) { try MeshCodec.decode(MeshFrame(payload: ByteBuffer())) }
        #expect(error?.code == .emptyFrame)
    }

    @Test("a batch holding a measurement whose result disagrees with its kind is refused whole")
    func kindMismatch() throws {
        var m = Streamswarm_Mesh_V1_Measurement()
        m.testID = 1
        m.kind = .icmp
        m.status = .ok
        m.tcp = Streamswarm_Mesh_V1_TcpResult()
        var batch = Streamswarm_Mesh_V1_ResultBatch()
        batch.batchID = 1
        batch.measurements = [m]
        var frame = Streamswarm_Mesh_V1_Frame()
        frame.resultBatch = batch
        let bytes: [UInt8] = try frame.serializedBytes()
        guard case .resultBatch(let decoded) = try MeshCodec.decode(MeshFrame(payload: ByteBuffer(bytes: bytes))) else {
            Issue.record("not a ResultBatch")
            return
        }
        #expect(decoded.measurements.isEmpty)
        #expect(decoded.invalidReason == "measurement 0 says kind icmp but carries a tcp result")
    }

    @Test("unknown fields from a newer peer are tolerated")
    func unknownFields() throws {
        // Heartbeat with an extra field 99 (varint) appended.
        let bytes: [UInt8] = [0x1A, 0x05, 0x08, 0x01, 0x98, 0x06, 0x01]
        guard case .heartbeat(let heartbeat) = try MeshCodec.decode(MeshFrame(payload: ByteBuffer(bytes: bytes))) else {
            Issue.record("not a heartbeat")
            return
        }
        #expect(heartbeat.sequence == 1)
    }
}

enum MeshEncodingFixture {
    static func encode(_ observation: ProbeObservation, sequence: UInt64) throws -> Data {
        try MeasurementEncoding.encode(observation, sequence: sequence)
    }
}
