// why: the decoder is a public NIO codec type used in channel pipelines.
public import NIOCore

/// Splits a byte stream into ``MeshFrame``s: 1 flags byte, a 4-byte big-endian length, the payload.
///
/// Hostile input is the norm: the length is checked against the limit from the header alone, so an
/// oversized frame is rejected before a byte of it is buffered; unknown flag bits are an error (not
/// "uncompressed"); bytes left at EOF are a truncated frame.
public struct MeshFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = MeshFrame

    private enum State {
        case waitingForHeader
        case waitingForPayload(flags: UInt8, length: Int)
    }

    public let maxPayloadBytes: Int
    private var state: State = .waitingForHeader

    /// - Parameter maxPayloadBytes: The largest payload accepted. Defaults to 4 MiB.
    public init(maxPayloadBytes: Int = MeshFrame.defaultMaxPayloadBytes) {
        self.maxPayloadBytes = maxPayloadBytes
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> MeshFrame? {
        if case .waitingForHeader = state {
            guard let flags = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
                let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
            else { return nil }
            if flags & ~MeshFrame.compressedFlag != 0 {
                throw WireError(
                    code: .unknownFlags,
                    message: "frame flags 0x\(String(flags, radix: 16)) set bits protocol v1 does not define "
                        + "(only bit 0, compression): the peer speaks another protocol version or the stream is corrupt"
                )
            }
            if flags & MeshFrame.compressedFlag != 0 {
                throw WireError(
                    code: .compressionUnsupported,
                    message: "compressed frames are not negotiated in protocol v1: send payloads uncompressed"
                )
            }
            if UInt64(length) > UInt64(maxPayloadBytes) {
                throw WireError(
                    code: .frameTooLarge,
                    message: "frame length \(length) exceeds the maximum \(maxPayloadBytes) bytes "
                        + "(raise mesh.maxFrameBytes or send smaller batches)"
                )
            }
            buffer.moveReaderIndex(forwardBy: MeshFrame.headerBytes)
            state = .waitingForPayload(flags: flags, length: Int(length))
        }
        guard case .waitingForPayload(let flags, let length) = state,
            let payload = buffer.readSlice(length: length)
        else { return nil }
        state = .waitingForHeader
        return MeshFrame(flags: flags, payload: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> MeshFrame? {
        if let frame = try decode(buffer: &buffer) { return frame }
        if seenEOF {
            let pending: Int
            switch state {
            case .waitingForHeader: pending = buffer.readableBytes
            case .waitingForPayload: pending = buffer.readableBytes + MeshFrame.headerBytes
            }
            if pending > 0 {
                throw WireError(
                    code: .truncatedFrame,
                    message: "connection closed in the middle of a frame (\(pending) bytes of an unfinished frame)"
                )
            }
        }
        return nil
    }
}
