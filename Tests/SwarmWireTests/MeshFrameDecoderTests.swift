import NIOCore
import SwarmCore
import SwarmWire
import Testing

@Suite struct MeshFrameDecoderTests {
    static func frameBytes(flags: UInt8 = 0, payload: [UInt8]) -> [UInt8] {
        var bytes = [flags]
        withUnsafeBytes(of: UInt32(payload.count).bigEndian) { bytes.append(contentsOf: $0) }
        return bytes + payload
    }

    /// Feeds `bytes` in chunks of `chunkSize` and returns the frames decoded.
    static func decode(_ bytes: [UInt8], chunkSize: Int, maxPayloadBytes: Int = 1 << 20) throws -> [MeshFrame] {
        let processor = NIOSingleStepByteToMessageProcessor(MeshFrameDecoder(maxPayloadBytes: maxPayloadBytes))
        var frames: [MeshFrame] = []
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + chunkSize)
            try processor.process(buffer: ByteBuffer(bytes: bytes[index..<end])) { frames.append($0) }
            index = end
        }
        try processor.finishProcessing(seenEOF: true) { frames.append($0) }
        return frames
    }

    @Test("frames survive any chunking of the byte stream", arguments: [1, 2, 3, 5, 7, 13, 64, 4096])
    func chunking(chunkSize: Int) throws {
        let payloads: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300), Array(0...255), [9, 9]]
        let stream = payloads.flatMap { Self.frameBytes(payload: $0) }
        let frames = try Self.decode(stream, chunkSize: chunkSize)
        #expect(frames.map { Array($0.payload.readableBytesView) } == payloads)
    }

    @Test("an oversized frame is refused from its header alone")
    func oversizeFromHeader() throws {
        // Only the 5-byte header arrives: the decoder must not wait for 5 MB of payload.
        var header: [UInt8] = [0]
        withUnsafeBytes(of: UInt32(5_000_000).bigEndian) { header.append(contentsOf: $0) }
        var decoder = MeshFrameDecoder(maxPayloadBytes: 4_194_304)
        var buffer = ByteBuffer(bytes: header)
        let error = #expect(throws: WireError.self) { try decoder.decode(buffer: &buffer) }
        #expect(error?.code == .frameTooLarge)
        #expect(
            error?.message
                == "frame length 5000000 exceeds the maximum 4194304 bytes (raise mesh.maxFrameBytes or send smaller batches)"
        )
    }

    @Test("unknown flag bits are an error, not 'uncompressed'", arguments: [UInt8(0x02), 0x80, 0xFE, 0x03])
    func unknownFlags(flags: UInt8) throws {
        let error = #expect(throws: WireError.self) {
            try Self.decode(Self.frameBytes(flags: flags, payload: [1]), chunkSize: 64)
        }
        #expect(error?.code == .unknownFlags)
    }

    @Test("compressed frames are refused because v1 negotiates no compression")
    func compressed() throws {
        let error = #expect(throws: WireError.self) {
            try Self.decode(Self.frameBytes(flags: 1, payload: [1]), chunkSize: 64)
        }
        #expect(error?.code == .compressionUnsupported)
    }

    @Test("EOF in the middle of a frame is reported as truncated", arguments: [1, 4, 5, 8])
    func truncated(cut: Int) throws {
        let bytes = Array(Self.frameBytes(payload: Array(repeating: 1, count: 10)).prefix(cut))
        let error = #expect(throws: WireError.self) { try Self.decode(bytes, chunkSize: 1) }
        #expect(error?.code == .truncatedFrame)
    }

    @Test("a slow drip of one byte at a time decodes exactly once")
    func slowDrip() throws {
        let payload = Array(repeating: UInt8(42), count: 1000)
        let frames = try Self.decode(Self.frameBytes(payload: payload), chunkSize: 1)
        #expect(frames.count == 1)
        #expect(frames.first?.payload.readableBytes == 1000)
    }

    @Test("the encoder writes the 5-byte header the decoder reads")
    func encoderHeader() throws {
        var out = ByteBuffer()
        try MeshFrameEncoder().encode(data: MeshFrame(payload: ByteBuffer(bytes: [1, 2, 3])), out: &out)
        #expect(Array(out.readableBytesView) == [0, 0, 0, 0, 3, 1, 2, 3])
    }
}
