import SwarmCore

/// The UDP echo message (requests and replies), big-endian:
///
///     0  "SWU1"           4  kind (1 request, 2 reply)   5  TOS byte the responder saw
///     6  flags (bit 0: TOS seen)                         8  session (8)
///     16 sequence (4)     20 sender's send time, ns since the epoch (8)
///     28 responder turnaround, ns from its kernel receive time to its send (4; replies only)
///     32 padding …        last 16: HMAC-SHA256 tag of everything before it
///
/// The turnaround lets the sender subtract the responder's processing from the RTT, as TWAMP
/// reflectors report their receive and send times (RFC 5357).
struct UDPEchoPacket: Equatable {
    static let magic: [UInt8] = Array("SWU1".utf8)
    static let headerLength = 32
    static let minimumLength = headerLength + ResponderAuth.tagLength

    enum Kind: UInt8 {
        case request = 1
        case reply = 2
    }

    var kind: Kind
    var session: UInt64
    var sequence: UInt32
    var sentAtNanos: Int64
    /// The TOS / traffic-class byte the responder saw on the request (replies only).
    var tosSeen: UInt8?
    /// Replies: ns the responder held the request.
    var turnaroundNanos: UInt32 = 0

    func encode(length: Int, key: ResponderKey) -> [UInt8] {
        var bytes = Self.magic
        bytes.append(kind.rawValue)
        bytes.append(tosSeen ?? 0)
        bytes += [0, tosSeen == nil ? 0 : 1]
        bytes += Self.bigEndian(session)
        bytes += Self.bigEndian(UInt64(sequence)).suffix(4)
        bytes += Self.bigEndian(UInt64(bitPattern: sentAtNanos))
        bytes += Self.bigEndian(UInt64(turnaroundNanos)).suffix(4)
        let padding = max(Self.minimumLength, length) - ResponderAuth.tagLength - bytes.count
        bytes += [UInt8](repeating: 0, count: padding)
        bytes += ResponderAuth.tag(bytes, key: key)
        return bytes
    }

    /// Parses a message whose tag has already been verified.
    static func decode(_ bytes: [UInt8]) -> UDPEchoPacket? {
        guard bytes.count >= minimumLength, Array(bytes[0..<4]) == magic, let kind = Kind(rawValue: bytes[4]) else {
            return nil
        }
        return UDPEchoPacket(
            kind: kind,
            session: readBigEndian(bytes, at: 8, count: 8),
            sequence: UInt32(readBigEndian(bytes, at: 16, count: 4)),
            sentAtNanos: Int64(bitPattern: readBigEndian(bytes, at: 20, count: 8)),
            tosSeen: bytes[7] & 1 == 1 ? bytes[5] : nil,
            turnaroundNanos: UInt32(readBigEndian(bytes, at: 28, count: 4))
        )
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    static func readBigEndian(_ bytes: [UInt8], at offset: Int, count: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<count { value = value << 8 | UInt64(bytes[offset + i]) }
        return value
    }
}
