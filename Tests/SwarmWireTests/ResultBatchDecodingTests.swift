import Foundation
import NIOCore
import SwarmCore
import SwarmProto
import SwarmWire
import SwiftProtobuf
import Testing

/// Result batches are decoded straight from the wire bytes; these pin that path to the protobuf
/// semantics the rest of the codec has.
@Suite struct ResultBatchDecodingTests {
    func frameBytes(_ batch: Streamswarm_Mesh_V1_ResultBatch) throws -> [UInt8] {
        var frame = Streamswarm_Mesh_V1_Frame()
        frame.resultBatch = batch
        return try frame.serializedBytes()
    }

    func decode(_ bytes: [UInt8]) throws -> Mesh.ResultBatch? {
        guard case .resultBatch(let batch) = try MeshCodec.decode(MeshFrame(payload: ByteBuffer(bytes: bytes))) else {
            return nil
        }
        return batch
    }

    @Test("every field arrives as sent, results keep their exact bytes, unknown fields are skipped")
    func fields() throws {
        var tcp = Streamswarm_Mesh_V1_TcpResult()
        tcp.address = "192.0.2.7"
        tcp.connectUs = 812.5
        tcp.outcome = .connected
        var m = Streamswarm_Mesh_V1_Measurement()
        m.testID = 42
        m.revision = 3
        m.sequence = 9_000_000_001
        m.kind = .tcp
        m.startedUnixNanos = -5  // before the epoch: a negative int64 is a 10-byte varint
        m.durationNanos = 1_500_000
        m.status = .failed
        m.reason = "tcp 192.0.2.7:443: connection refused — ünïcode"
        m.tcp = tcp
        var unknown = try m.serializedData()
        unknown.append(contentsOf: [0xF8, 0x07, 0x01])  // field 127, varint 1: from a newer agent
        var batch = Streamswarm_Mesh_V1_ResultBatch()
        batch.batchID = 77
        batch.createdUnixNanos = 123
        batch.measurements = [try Streamswarm_Mesh_V1_Measurement(serializedBytes: unknown), m]
        let decoded = try #require(try decode(try frameBytes(batch)))
        #expect(decoded.batchID == 77 && decoded.createdAt.unixNanos == 123 && decoded.invalidReason == nil)
        #expect(decoded.measurements.count == 2)
        for item in decoded.measurements {
            #expect(item.testID == TestID(42) && item.revision == 3 && item.sequence == 9_000_000_001)
            #expect(item.kind == .tcp && item.status == .failed && item.reason == m.reason)
            #expect(item.startedAt.unixNanos == -5 && item.duration == .nanoseconds(1_500_000))
            #expect(item.value == 812.5)
            #expect(item.payload == (try tcp.serializedData()))
        }
    }

    @Test("a result that does not parse makes the batch invalid, not the session")
    func garbageResult() throws {
        var m = Streamswarm_Mesh_V1_Measurement()
        m.testID = 1
        m.kind = .tcp
        m.status = .ok
        var bytes = try m.serializedData()
        bytes.append(contentsOf: [0xB2, 0x01, 0x02, 0xFF, 0xFF])  // field 22 (tcp), 2 bytes of garbage
        var batch = Streamswarm_Mesh_V1_ResultBatch()
        batch.batchID = 5
        // Append the raw measurement as ResultBatch field 2 inside the frame's field 8.
        var batchBytes: [UInt8] = try batch.serializedBytes()
        batchBytes += [0x12, UInt8(bytes.count)] + bytes
        let frame = [0x42, UInt8(batchBytes.count)] + batchBytes
        let decoded = try #require(try decode(frame))
        #expect(decoded.measurements.isEmpty)
        #expect(decoded.invalidReason == "measurement 0 has a tcp result that does not parse")
    }

    @Test("a truncated batch is a malformed frame")
    func truncated() throws {
        var batch = Streamswarm_Mesh_V1_ResultBatch()
        batch.batchID = 1
        var m = Streamswarm_Mesh_V1_Measurement()
        m.testID = 1
        m.kind = .system
        m.status = .ok
        batch.measurements = [m]
        let bytes = try frameBytes(batch)
        let error = #expect(throws: WireError.self) {
            try MeshCodec.decode(MeshFrame(payload: ByteBuffer(bytes: bytes.dropLast(2))))
        }
        #expect(error?.code == .malformedPayload)
    }
}
