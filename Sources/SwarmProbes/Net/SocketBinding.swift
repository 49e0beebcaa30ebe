import CSwarmProbes
import Foundation
import SwarmCore

/// The common "source interface or address" options (shared/METRICS.md), applied to a new socket, and
/// the local port a socket ended up with.
enum SocketBinding {
    /// Binds `fd` to `interface` (SO_BINDTODEVICE) and/or `source`; returns a reason on failure.
    static func apply(_ fd: Int32, family: Int32, source: String, interface: String) -> String? {
        if !interface.isEmpty {
            let rc = interface.withCString {
                setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1))
            }
            if rc != 0 { return "cannot send through interface \(interface): \(Datagram.errnoText())" }
        }
        guard !source.isEmpty else { return nil }
        guard
            case .success(let addresses) = SocketAddressBytes.resolve(
                host: source,
                port: 0,
                family: family == AF_INET6 ? .ipv6 : .ipv4,
                type: SOCK_DGRAM
            ),
            let address = addresses.first
        else { return "source address \(source) is not an address of the target's family" }
        if address.withSockaddr({ bind(fd, $0, $1) }) != 0 {
            return "cannot bind source address \(source): \(Datagram.errnoText())"
        }
        return nil
    }

    /// The local port a socket is bound to (getsockname), 0 when unknown.
    static func localPort(of fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                Int(UInt16(bigEndian: $0.pointee.sin_port))
            }
        }
    }
}
