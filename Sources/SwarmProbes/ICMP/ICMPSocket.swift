import CSwarmProbes
import Foundation
import SwarmCore

/// An ICMP echo socket: the unprivileged datagram kind (`ping_group_range`) when the host allows it,
/// otherwise a raw socket (root or CAP_NET_RAW).
struct ICMPSocket: Sendable {
    enum Mode: String, Sendable { case datagram, raw }

    let fd: Int32
    let family: Int32
    let mode: Mode
    /// The echo identifier on raw sockets; datagram sockets have theirs set (and filtered) by the kernel.
    let identifier: UInt16

    static func open(
        family: Int32,
        dscp: Int,
        source: String,
        interface: String
    ) -> Result<ICMPSocket, SocketUnavailable> {
        let proto = family == AF_INET6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)
        let flags = Int32(SOCK_CLOEXEC.rawValue)
        var mode = Mode.datagram
        var fd = socket(family, Int32(SOCK_DGRAM.rawValue) | flags, proto)
        let datagramErrno = errno
        if fd < 0 {
            mode = .raw
            fd = socket(family, Int32(SOCK_RAW.rawValue) | flags, proto)
        }
        guard fd >= 0 else {
            let rawErrno = errno
            if datagramErrno == EACCES || datagramErrno == EPERM, rawErrno == EPERM || rawErrno == EACCES {
                return .failure(
                    .init(
                        status: .notPermitted,
                        reason: "icmp: not permitted — add the agent's group to net.ipv4.ping_group_range "
                            + "or run with CAP_NET_RAW"
                    )
                )
            }
            return .failure(
                .init(
                    status: .failed,
                    reason: "icmp: cannot open an ICMP socket (datagram: \(Datagram.errnoText(datagramErrno)); "
                        + "raw: \(Datagram.errnoText(rawErrno)))"
                )
            )
        }
        let socket = ICMPSocket(fd: fd, family: family, mode: mode, identifier: UInt16.random(in: 1...UInt16.max))
        if let problem = socket.configure(dscp: dscp, source: source, interface: interface) {
            close(fd)
            return .failure(.init(status: .failed, reason: problem))
        }
        return .success(socket)
    }

    /// Applies DSCP, source binding and receive options; returns a reason on failure.
    private func configure(dscp: Int, source: String, interface: String) -> String? {
        if cswarm_enable_receive_info(fd, family, 0) != 0 {
            return "icmp: cannot enable kernel receive timestamps: \(Datagram.errnoText())"
        }
        if dscp > 0, cswarm_set_tos(fd, family, Int32(dscp), 0) != 0 {
            return "icmp: cannot set DSCP \(dscp): \(Datagram.errnoText())"
        }
        if let problem = SocketBinding.apply(fd, family: family, source: source, interface: interface) {
            return "icmp: \(problem)"
        }
        return nil
    }
}

/// ICMP echo wire format (RFC 792 / RFC 4443).
enum ICMPEcho {
    static func request(
        family: Int32,
        identifier: UInt16,
        sequence: UInt16,
        token: UInt64,
        payloadSize: Int
    )
        -> [UInt8]
    {
        var packet: [UInt8] = [family == AF_INET6 ? 128 : 8, 0, 0, 0]
        packet += [UInt8(identifier >> 8), UInt8(identifier & 0xff), UInt8(sequence >> 8), UInt8(sequence & 0xff)]
        var payload = [UInt8](repeating: 0, count: max(8, payloadSize))
        for i in 0..<8 { payload[i] = UInt8(truncatingIfNeeded: token >> (56 - 8 * UInt64(i))) }
        for i in 8..<payload.count { payload[i] = UInt8(truncatingIfNeeded: i) }
        packet += payload
        // why: the kernel fills the checksum for datagram sockets and for ICMPv6, but not for raw IPv4.
        let sum = checksum(packet)
        packet[2] = UInt8(sum >> 8)
        packet[3] = UInt8(sum & 0xff)
        return packet
    }

    /// A parsed echo reply: identifier, sequence, the token from the payload and the IPv4 TTL when the
    /// socket delivers the IP header (raw IPv4).
    struct Reply {
        var identifier: UInt16
        var sequence: UInt16
        var token: UInt64
        var headerTTL: Int?
    }

    static func parseReply(_ bytes: [UInt8], family: Int32, mode: ICMPSocket.Mode) -> Reply? {
        var offset = 0
        var headerTTL: Int?
        if family == AF_INET && mode == .raw {
            guard bytes.count >= 20, bytes[0] >> 4 == 4 else { return nil }
            offset = Int(bytes[0] & 0x0f) * 4
            headerTTL = Int(bytes[8])
        }
        guard bytes.count >= offset + 16 else { return nil }
        let replyType: UInt8 = family == AF_INET6 ? 129 : 0
        guard bytes[offset] == replyType, bytes[offset + 1] == 0 else { return nil }
        let identifier = UInt16(bytes[offset + 4]) << 8 | UInt16(bytes[offset + 5])
        let sequence = UInt16(bytes[offset + 6]) << 8 | UInt16(bytes[offset + 7])
        var token: UInt64 = 0
        for i in 0..<8 { token = token << 8 | UInt64(bytes[offset + 8 + i]) }
        return Reply(identifier: identifier, sequence: sequence, token: token, headerTTL: headerTTL)
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum &+= UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) &+ (sum >> 16) }
        return ~UInt16(truncatingIfNeeded: sum)
    }
}
