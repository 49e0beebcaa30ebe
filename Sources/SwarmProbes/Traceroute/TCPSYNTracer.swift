import CSwarmProbes
import Foundation
import SwarmCore

/// Traceroute with TCP SYNs (root or CAP_NET_RAW): a non-blocking connect() per probe with the TTL
/// set, always from the same local port to the same destination port (one flow, Paris style). Routers'
/// time-exceeded replies are read on a raw ICMP socket and matched by the ports in the quoted TCP
/// header; the destination answers with SYN-ACK (open) or RST (closed), both meaning "reached".
enum TCPSYNTracer {
    static func trace(
        to destination: SocketAddressBytes,
        port: Int,
        plan: TracePlan
    ) -> Result<
        TracerouteProbeResult, SocketUnavailable
    > {
        let family = destination.family
        let icmpProtocol = family == AF_INET6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)
        let icmp = socket(family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), icmpProtocol)
        guard icmp >= 0 else {
            return .failure(
                .init(
                    status: .notPermitted,
                    reason: "tcp-syn mode reads ICMP on a raw socket: run as root or with CAP_NET_RAW, "
                        + "or use --mode udp (unprivileged)"
                )
            )
        }
        defer { close(icmp) }
        _ = cswarm_enable_receive_info(icmp, family, 0)
        let target = destination.withPort(port)
        var result = TracerouteProbeResult()
        result.destination = destination.text
        var localPort = 0
        var silent = 0
        for ttl in 1...plan.maxHops {
            var hop = TracerouteHop(ttl: ttl)
            var reachedHere = false
            for _ in 0..<plan.probesPerHop {
                hop.probesSent += 1
                guard let reply = probe(target, port: port, ttl: ttl, localPort: &localPort, icmp: icmp, plan: plan)
                else {
                    continue
                }
                hop.rtts.append(reply.rtt)
                if hop.address.isEmpty { hop.address = reply.from }
                hop.icmpType = reply.icmpType
                hop.icmpCode = reply.icmpCode
                if reply.reached { reachedHere = true }
            }
            result.hops.append(hop)
            if reachedHere {
                result.reached = true
                break
            }
            silent = hop.address.isEmpty ? silent + 1 : 0
            if silent >= plan.silentHopsLimit { break }
        }
        result.flowID = localPort
        result.pathFingerprint = TracerouteProbeResult.fingerprint(of: result.hops)
        return .success(result)
    }

    struct Reply {
        var from: String
        var rtt: Duration
        var icmpType: Int?
        var icmpCode: Int?
        var reached: Bool
    }

    /// One SYN at `ttl`; the answer within the hop wait, or nil.
    static func probe(
        _ target: SocketAddressBytes,
        port: Int,
        ttl: Int,
        localPort: inout Int,
        icmp: Int32,
        plan: TracePlan
    ) -> Reply? {
        let family = target.family
        let fd = socket(
            family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        guard fd >= 0 else { return nil }
        // why: linger 0 aborts with RST on close, so the same local port is free for the next SYN.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        defer { close(fd) }
        if SocketBinding.apply(fd, family: family, source: plan.source, interface: plan.interface) != nil { return nil }
        if localPort != 0 {
            let any = family == AF_INET6 ? "::" : "0.0.0.0"
            if plan.source.isEmpty,
                case .success(let addresses) = SocketAddressBytes.resolve(
                    host: any,
                    port: localPort,
                    family: family == AF_INET6 ? .ipv6 : .ipv4,
                    type: SOCK_STREAM
                ), let local = addresses.first
            {
                _ = local.withSockaddr { bind(fd, $0, $1) }
            }
        }
        _ = cswarm_set_ttl(fd, family, Int32(ttl))
        if plan.dscp > 0 { _ = cswarm_set_tos(fd, family, Int32(plan.dscp), 0) }
        let sentAt = Datagram.realtimeNanos()
        let rc = target.withSockaddr { connect(fd, $0, $1) }
        if rc != 0 && errno != EINPROGRESS { return nil }
        if localPort == 0 { localPort = SocketBinding.localPort(of: fd) }
        let deadline = ContinuousClock.now + plan.hopWait
        while ContinuousClock.now < deadline {
            var fds = [
                pollfd(fd: fd, events: Int16(POLLOUT), revents: 0), pollfd(fd: icmp, events: Int16(POLLIN), revents: 0),
            ]
            let remaining = Int32(max(1, (deadline - ContinuousClock.now).nanoseconds / 1_000_000))
            guard poll(&fds, 2, remaining) > 0 else { continue }
            if fds[0].revents != 0 {
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                let rtt = Duration.nanoseconds(max(0, Datagram.realtimeNanos() - sentAt))
                if error == 0 || error == ECONNREFUSED {
                    // SYN-ACK (open port) or RST (closed port): the destination itself answered.
                    return Reply(from: target.text, rtt: rtt, icmpType: nil, icmpCode: nil, reached: true)
                }
            }
            if fds[1].revents & Int16(POLLIN) != 0 {
                while let datagram = Datagram.receive(icmp, flags: Int32(MSG_DONTWAIT), capacity: 2048) {
                    guard let quoted = quotedPorts(datagram.bytes, family: family),
                        quoted.source == localPort, quoted.destination == port
                    else { continue }
                    let receivedAt = datagram.kernelTime ?? Datagram.realtimeNanos()
                    return Reply(
                        from: datagram.source,
                        rtt: .nanoseconds(max(0, receivedAt - sentAt)),
                        icmpType: Int(quoted.type),
                        icmpCode: Int(quoted.code),
                        reached: datagram.source == target.text
                    )
                }
            }
        }
        return nil
    }

    /// The ICMP type/code and the TCP ports quoted in an ICMP error (IPv4 raw sockets include the IP
    /// header; ICMPv6 raw sockets do not).
    static func quotedPorts(
        _ bytes: [UInt8],
        family: Int32
    ) -> (type: UInt8, code: UInt8, source: Int, destination: Int)? {
        var offset = 0
        if family == AF_INET {
            guard bytes.count >= 20 else { return nil }
            offset = Int(bytes[0] & 0x0f) * 4
        }
        guard bytes.count >= offset + 8 else { return nil }
        let type = bytes[offset]
        let code = bytes[offset + 1]
        let isError = family == AF_INET6 ? (type == 1 || type == 3) : (type == 3 || type == 11)
        guard isError else { return nil }
        var inner = offset + 8
        if family == AF_INET {
            guard bytes.count >= inner + 20, bytes[inner + 9] == UInt8(IPPROTO_TCP) else { return nil }
            inner += Int(bytes[inner] & 0x0f) * 4
        } else {
            guard bytes.count >= inner + 40, bytes[inner + 6] == UInt8(IPPROTO_TCP) else { return nil }
            inner += 40
        }
        guard bytes.count >= inner + 4 else { return nil }
        let source = Int(bytes[inner]) << 8 | Int(bytes[inner + 1])
        let destination = Int(bytes[inner + 2]) << 8 | Int(bytes[inner + 3])
        return (type, code, source, destination)
    }
}
