import CSwarmProbes
import Foundation
import SwarmCore

/// The socket a trace sends through: UDP (unprivileged, ICMP errors via IP_RECVERR, like tracepath)
/// or ICMP echo (datagram socket if `ping_group_range` allows, else raw). Every probe carries
/// "SWTR", its TTL and its index, so replies are matched by content whatever the socket kind returns.
/// Ports and ICMP identifier stay constant for the whole trace (Paris traceroute): per-flow load
/// balancers keep every probe on one path.
struct TraceSocket {
    enum Kind { case udp, icmp }

    static let magic: [UInt8] = Array("SWTR".utf8)
    static let basePort = 33434

    let fd: Int32
    let kind: Kind
    let family: Int32
    let destination: SocketAddressBytes
    let icmpMode: ICMPSocket.Mode?
    /// The flow identifier: the local UDP port, or the ICMP identifier.
    let flowID: Int

    static func open(
        kind: Kind,
        destination: SocketAddressBytes,
        dscp: Int,
        source: String = "",
        interface: String = ""
    ) -> Result<TraceSocket, SocketUnavailable> {
        let fd: Int32
        var icmpMode: ICMPSocket.Mode?
        var identifier = 0
        switch kind {
        case .udp:
            fd = socket(destination.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { return .failure(.init(status: .failed, reason: "socket(): \(Datagram.errnoText())")) }
            if let problem = SocketBinding.apply(fd, family: destination.family, source: source, interface: interface) {
                Glibc.close(fd)
                return .failure(.init(status: .failed, reason: problem))
            }
        case .icmp:
            switch ICMPSocket.open(family: destination.family, dscp: dscp, source: source, interface: interface) {
            case .failure(let problem): return .failure(problem)
            case .success(let socket):
                fd = socket.fd
                icmpMode = socket.mode
                identifier = Int(socket.identifier)
            }
        }
        if cswarm_enable_receive_info(fd, destination.family, 1) != 0 {
            Glibc.close(fd)
            return .failure(.init(status: .failed, reason: "cannot enable IP_RECVERR: \(Datagram.errnoText())"))
        }
        if dscp > 0 { _ = cswarm_set_tos(fd, destination.family, Int32(dscp), 0) }
        var target = destination
        if kind == .udp { target = destination.withPort(basePort) }
        if kind == .udp, target.withSockaddr({ connect(fd, $0, $1) }) != 0 {
            let text = Datagram.errnoText()
            Glibc.close(fd)
            return .failure(.init(status: .failed, reason: "connect(): \(text)"))
        }
        let flow = kind == .udp ? SocketBinding.localPort(of: fd) : identifier
        return .success(
            TraceSocket(
                fd: fd,
                kind: kind,
                family: destination.family,
                destination: target,
                icmpMode: icmpMode,
                flowID: flow
            )
        )
    }

    func close() { Glibc.close(fd) }

    /// Sends probe `index` at `ttl` with `size` bytes of payload. Returns 0 or errno.
    func send(ttl: Int, index: Int, size: Int = 0) -> Int32 {
        _ = cswarm_set_ttl(fd, family, Int32(ttl))
        var payload = Self.magic + [UInt8(ttl), UInt8(index)]
        if size > payload.count { payload += [UInt8](repeating: 0, count: size - payload.count) }
        let packet: [UInt8]
        switch kind {
        case .udp:
            packet = payload
        case .icmp:
            let sequence = UInt16(ttl << 8 | index)
            var echo = ICMPEcho.request(
                family: family,
                identifier: UInt16(flowID),
                sequence: sequence,
                token: 0,
                payloadSize: 8
            )
            echo.removeLast(8)
            echo += payload
            let sum = ICMPEcho.checksum(echo.enumerated().map { $0.offset == 2 || $0.offset == 3 ? 0 : $0.element })
            echo[2] = UInt8(sum >> 8)
            echo[3] = UInt8(sum & 0xff)
            packet = echo
        }
        func attempt() -> Int32 {
            let rc = packet.withUnsafeBytes { raw in
                destination.withSockaddr { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, $1) }
            }
            return rc < 0 ? errno : 0
        }
        let first = attempt()
        // why: a connected UDP socket reports an earlier probe's ICMP error on the next send; send again.
        if first == ECONNREFUSED || first == EHOSTUNREACH || first == ENETUNREACH { return attempt() }
        return first
    }

    /// A reply to one of our probes.
    struct Reply {
        var ttl: Int
        var index: Int
        var from: String
        var receivedAt: Int64
        var icmpType: Int?
        var icmpCode: Int?
        /// Next-hop MTU reported by "fragmentation needed" / "packet too big" (or a local EMSGSIZE).
        var mtu: Int?
        /// The destination itself answered (port unreachable for UDP, echo reply for ICMP).
        var fromDestination: Bool
        var isLocalError: Bool
    }

    /// Reads everything queued (error queue first) without blocking.
    func drain() -> [Reply] {
        var replies: [Reply] = []
        while let datagram = Datagram.receive(fd, flags: Int32(MSG_ERRQUEUE | MSG_DONTWAIT), capacity: 65536) {
            guard let error = datagram.error, let (ttl, index) = Self.locate(datagram.bytes) else { continue }
            let unreachableType: UInt8 = family == AF_INET6 ? 1 : 3
            let portUnreachable: UInt8 = family == AF_INET6 ? 4 : 3
            let tooBig =
                (family == AF_INET && error.type == 3 && error.code == 4) || (family == AF_INET6 && error.type == 2)
            replies.append(
                Reply(
                    ttl: ttl,
                    index: index,
                    from: error.offender,
                    receivedAt: datagram.kernelTime ?? Datagram.realtimeNanos(),
                    icmpType: error.isICMP ? Int(error.type) : nil,
                    icmpCode: error.isICMP ? Int(error.code) : nil,
                    mtu: tooBig || error.errno == EMSGSIZE ? Int(error.info) : nil,
                    fromDestination: error.isICMP && error.type == unreachableType && error.code == portUnreachable,
                    isLocalError: !error.isICMP
                )
            )
        }
        while let datagram = Datagram.receive(fd, flags: Int32(MSG_DONTWAIT), capacity: 65536) {
            // Echo replies (ICMP mode) or a UDP answer from a service on the destination port.
            guard let (ttl, index) = Self.locate(datagram.bytes) else { continue }
            if kind == .icmp {
                let offset = family == AF_INET && icmpMode == .raw ? Int(datagram.bytes[0] & 0x0f) * 4 : 0
                let echoReply: UInt8 = family == AF_INET6 ? 129 : 0
                guard datagram.bytes.count > offset, datagram.bytes[offset] == echoReply else { continue }
            }
            replies.append(
                Reply(
                    ttl: ttl,
                    index: index,
                    from: datagram.source.isEmpty ? destination.text : datagram.source,
                    receivedAt: datagram.kernelTime ?? Datagram.realtimeNanos(),
                    icmpType: kind == .icmp ? (family == AF_INET6 ? 129 : 0) : nil,
                    icmpCode: kind == .icmp ? 0 : nil,
                    mtu: nil,
                    fromDestination: true,
                    isLocalError: false
                )
            )
        }
        return replies
    }

    /// Finds our marker in a returned packet (its offset depends on the socket kind) and reads the
    /// TTL and index after it.
    static func locate(_ bytes: [UInt8]) -> (Int, Int)? {
        guard bytes.count >= magic.count + 2 else { return nil }
        for start in 0...(bytes.count - magic.count - 2) where bytes[start] == magic[0] {
            if Array(bytes[start..<(start + 4)]) == magic { return (Int(bytes[start + 4]), Int(bytes[start + 5])) }
        }
        return nil
    }
}
