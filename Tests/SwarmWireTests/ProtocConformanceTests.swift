import Foundation
import NIOCore
import SwarmCore
import SwarmTestSupport
import SwarmWire
import Testing

/// Our frames against another protobuf runtime: protoc (C++) decodes what we encode and encodes
/// what we decode. scripts/test.sh installs protoc (Debian protobuf-compiler).
@Suite(.enabled(if: Protoc.path != nil, "protoc not installed: run scripts/bootstrap.sh"))
struct ProtocConformanceTests {
    func run(_ mode: String, input: Data) throws -> Data {
        let output = try Protoc.run(
            mode,
            "streamswarm.mesh.v1.Frame",
            file: "streamswarm/mesh/v1/session.proto",
            input: input
        )
        #expect(output.status == 0, "protoc: \(output.stderr)")
        return output.stdout
    }

    @Test("protoc decodes a Hello we encode")
    func protocDecodesOurs() throws {
        let hello = Mesh.Hello(
            agentVersion: "1.0.0",
            host: HostFacts(hostname: "edge-7", kernel: "6.1.0", cpuCount: 8),
            capabilities: [.tcp, .system],
            lastAckedBatchID: 1_234_567
        )
        let frame = try MeshCodec.encode(.hello(hello))
        let text = String(decoding: try run("decode", input: Data(frame.payload.readableBytesView)), as: UTF8.self)
        #expect(text.contains("protocol_version: 1"))
        #expect(text.contains("agent_version: \"1.0.0\""))
        #expect(text.contains("hostname: \"edge-7\""))
        #expect(text.contains("cpu_count: 8"))
        #expect(text.contains("capabilities: PROBE_KIND_TCP"))
        #expect(text.contains("capabilities: PROBE_KIND_SYSTEM"))
        #expect(text.contains("last_acked_batch_id: 1234567"))
    }

    @Test("we decode a BatchAck that protoc encodes")
    func weDecodeProtocs() throws {
        let bytes = try run("encode", input: Data("batch_ack { batch_id: 99 stored_count: 3 duplicate: true }".utf8))
        guard case .batchAck(let ack) = try MeshCodec.decode(MeshFrame(payload: ByteBuffer(bytes: bytes))) else {
            Issue.record("not a BatchAck")
            return
        }
        #expect(ack.batchID == 99 && ack.storedCount == 3 && ack.duplicate)
    }
}
