import CSwarmProbes
import Foundation
import SwarmCore

/// The bandwidth responder's TCP protocol, big-endian.
///
/// Hello (client → responder, 64 bytes): "SWB1", direction (0 responder sends, 1 client sends),
/// 3 reserved, duration ms (4), nonce (16), client time ns (8), 12 reserved, HMAC tag (16) of the
/// first 48 bytes. The responder answers one byte, 1 = accepted, and then the sender streams frames:
/// a 4-byte length and that many bytes; a zero length ends the stream and is followed by the
/// receiver-side or sender-side totals (`Trailer`).
enum BandwidthWire {
    static let magic: [UInt8] = Array("SWB1".utf8)
    static let helloLength = 64
    static let frameSize = 128 * 1024
    static let accepted: UInt8 = 1

    struct Hello: Equatable {
        var clientSends: Bool
        var duration: Duration
        var nonce: [UInt8]
        var clientTimeNanos: Int64
    }

    static func encode(_ hello: Hello, key: ResponderKey) -> [UInt8] {
        var bytes = magic
        bytes += [hello.clientSends ? 1 : 0, 0, 0, 0]
        bytes += UDPEchoPacket.bigEndian(UInt64(hello.duration.milliseconds)).suffix(4)
        bytes += hello.nonce
        bytes += UDPEchoPacket.bigEndian(UInt64(bitPattern: hello.clientTimeNanos))
        bytes += [UInt8](repeating: 0, count: 12)
        bytes += ResponderAuth.tag(bytes, key: key)
        return bytes
    }

    /// Parses a hello whose tag verifies with `key`; nil for anything else.
    static func decodeHello(_ bytes: [UInt8], key: ResponderKey) -> Hello? {
        guard bytes.count == helloLength, Array(bytes[0..<4]) == magic, ResponderAuth.verify(bytes, key: key) else {
            return nil
        }
        return Hello(
            clientSends: bytes[4] == 1,
            duration: .milliseconds(Int64(UDPEchoPacket.readBigEndian(bytes, at: 8, count: 4))),
            nonce: Array(bytes[12..<28]),
            clientTimeNanos: Int64(bitPattern: UDPEchoPacket.readBigEndian(bytes, at: 28, count: 8))
        )
    }

    /// Totals sent after the end-of-stream frame: bytes the responder moved, over how long, and the
    /// TCP retransmissions on the sending side (TCP_INFO).
    struct Trailer: Equatable {
        var bytes: UInt64
        var elapsedNanos: UInt64
        var retransmits: UInt32

        var encoded: [UInt8] {
            UDPEchoPacket.bigEndian(bytes) + UDPEchoPacket.bigEndian(elapsedNanos)
                + UDPEchoPacket.bigEndian(UInt64(retransmits)).suffix(4)
        }
        static let length = 20

        init(bytes: UInt64, elapsedNanos: UInt64, retransmits: UInt32) {
            self.bytes = bytes
            self.elapsedNanos = elapsedNanos
            self.retransmits = retransmits
        }

        init(_ raw: [UInt8]) {
            bytes = UDPEchoPacket.readBigEndian(raw, at: 0, count: 8)
            elapsedNanos = UDPEchoPacket.readBigEndian(raw, at: 8, count: 8)
            retransmits = UInt32(UDPEchoPacket.readBigEndian(raw, at: 16, count: 4))
        }
    }
}

/// Blocking stream I/O helpers with a deadline, for the bandwidth client and responder threads.
enum StreamIO {
    /// Reads exactly `count` bytes, or nil on EOF, error or deadline.
    static func readExactly(_ fd: Int32, _ count: Int, deadline: ContinuousClock.Instant) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, Datagram.waitReadable(fd, timeout: remaining) else { return nil }
            let n = buffer.withUnsafeMutableBytes { raw in
                raw.baseAddress.map { recv(fd, $0 + filled, count - filled, 0) } ?? -1
            }
            if n <= 0 { return nil }
            filled += n
        }
        return buffer
    }

    /// Writes all of `bytes`; false on error.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var sent = 0
        while sent < bytes.count {
            let n = send(fd, base + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            sent += n
        }
        return true
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { writeAll(fd, $0) } }

    /// Streams length-prefixed frames for `duration`, then the end frame. Calls `progress` with each
    /// frame's payload size. Returns the payload bytes sent, or nil if the peer went away.
    static func sendFrames(_ fd: Int32, for duration: Duration, progress: (Int) -> Void) -> UInt64? {
        let payload = [UInt8](repeating: 0x5a, count: BandwidthWire.frameSize)
        let header = UDPEchoPacket.bigEndian(UInt64(BandwidthWire.frameSize)).suffix(4)
        let frame = Array(header) + payload
        let end = ContinuousClock.now + duration
        var total: UInt64 = 0
        while ContinuousClock.now < end {
            guard writeAll(fd, frame) else { return nil }
            total += UInt64(payload.count)
            progress(payload.count)
        }
        guard writeAll(fd, [0, 0, 0, 0]) else { return nil }
        return total
    }

    /// Reads frames until the end frame. Calls `progress` with each chunk of payload as it arrives.
    /// Returns the payload bytes received and any bytes read past the end frame (the start of the
    /// trailer), or nil on error or deadline.
    static func receiveFrames(
        _ fd: Int32,
        deadline: ContinuousClock.Instant,
        progress: (Int) -> Void
    ) -> (
        bytes: UInt64, leftover: [UInt8]
    )? {
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var total: UInt64 = 0
        var pending = [UInt8]()  // partial frame header
        var remainingInFrame = 0
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, Datagram.waitReadable(fd, timeout: remaining) else { return nil }
            let n = buffer.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress, raw.count, 0) }
            if n <= 0 { return nil }
            var offset = 0
            while offset < n {
                if remainingInFrame > 0 {
                    let take = min(remainingInFrame, n - offset)
                    remainingInFrame -= take
                    offset += take
                    total += UInt64(take)
                    progress(take)
                    continue
                }
                pending.append(buffer[offset])
                offset += 1
                if pending.count == 4 {
                    let length = Int(UDPEchoPacket.readBigEndian(pending, at: 0, count: 4))
                    pending.removeAll()
                    if length == 0 {
                        // why: bytes after the end frame (the trailer) belong to the caller; hand them back.
                        return (total, Array(buffer[offset..<n]))
                    }
                    remainingInFrame = length
                }
            }
        }
    }
}
