// why: MeshFrame carries a ByteBuffer, NIO's currency, between the codec and the session code.
public import NIOCore

/// One framed message: the flags byte and the serialized `Frame` bytes, before protobuf parsing.
public struct MeshFrame: Sendable, Hashable {
    /// Flag bit 0: the payload is compressed. No other bit is defined in protocol v1.
    public static let compressedFlag: UInt8 = 0x01
    public static let headerBytes = 5
    /// Default largest payload: 4 MiB.
    public static let defaultMaxPayloadBytes = 4 << 20

    public var flags: UInt8
    public var payload: ByteBuffer

    public init(flags: UInt8 = 0, payload: ByteBuffer) {
        self.flags = flags
        self.payload = payload
    }
}
