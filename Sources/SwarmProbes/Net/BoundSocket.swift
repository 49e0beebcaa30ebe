import CSwarmProbes
import Foundation
import SwarmCore

/// A socket bound to a local address, for the responders. "::" also accepts IPv4 (dual stack).
struct BoundSocket: Sendable {
    let fd: Int32
    let family: Int32
    /// The port actually bound (useful when asked for port 0).
    let port: Int

    static func open(host: String, port: Int, type: __socket_type) throws(ProbeError) -> BoundSocket {
        guard
            case .success(let addresses) = SocketAddressBytes.resolve(host: host, port: port, family: .any, type: type),
            let address = addresses.first
        else { throw ProbeError(.cannotBind, "cannot resolve bind address \(host)") }
        let fd = socket(address.family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProbeError(.cannotBind, "socket(): \(Datagram.errnoText())") }
        var on: Int32 = 1
        var off: Int32 = 0
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if address.family == AF_INET6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        }
        if address.withSockaddr({ bind(fd, $0, $1) }) != 0 {
            let text = Datagram.errnoText()
            close(fd)
            throw ProbeError(
                .cannotBind,
                "cannot bind \(host):\(port): \(text) (is another responder already running?)"
            )
        }
        if type == SOCK_STREAM && listen(fd, 64) != 0 {
            let text = Datagram.errnoText()
            close(fd)
            throw ProbeError(.cannotBind, "cannot listen on \(host):\(port): \(text)")
        }
        return BoundSocket(fd: fd, family: address.family, port: SocketBinding.localPort(of: fd))
    }
}
