// why: the encoder is a public NIO codec type used in channel pipelines.
public import NIOCore

/// Writes ``MeshFrame``s with the 5-byte header.
public struct MeshFrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = MeshFrame

    public init() {}

    public func encode(data: MeshFrame, out: inout ByteBuffer) throws {
        out.reserveCapacity(minimumWritableBytes: MeshFrame.headerBytes + data.payload.readableBytes)
        out.writeInteger(data.flags)
        out.writeInteger(UInt32(data.payload.readableBytes))
        var payload = data.payload
        out.writeBuffer(&payload)
    }
}
