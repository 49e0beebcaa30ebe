import CSwarmProbes
import Foundation
import SwarmCore

/// A resolved socket address held as bytes, so it can cross threads and be reused per attempt.
struct SocketAddressBytes: Sendable {
    var family: Int32
    var storage: [UInt8]
    /// The numeric address, for reports.
    var text: String

    enum Resolution {
        case success([SocketAddressBytes])
        case failure(String)
    }

    /// Resolves with getaddrinfo (blocking: call from a thread-pool thread).
    static func resolve(host: String, port: Int, family: TestSpec.AddressFamily, type: __socket_type) -> Resolution {
        var hints = addrinfo()
        hints.ai_socktype = Int32(type.rawValue)
        hints.ai_family =
            switch family {
            case .ipv4: AF_INET
            case .ipv6: AF_INET6
            case .any: AF_UNSPEC
            }
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var results: [SocketAddressBytes] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                let bytes = Array(UnsafeRawBufferPointer(start: address, count: Int(entry.pointee.ai_addrlen)))
                var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                getnameinfo(address, entry.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST)
                let text = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                results.append(SocketAddressBytes(family: entry.pointee.ai_family, storage: bytes, text: text))
            }
            cursor = entry.pointee.ai_next
        }
        return .success(results)
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        storage.withUnsafeBytes { raw in
            // The bytes were copied from a sockaddr of this length, so the rebinding is sound.
            let pointer = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: sockaddr.self)
            return body(pointer, socklen_t(raw.count))
        }
    }
}

extension SocketAddressBytes {
    /// The same address with another port (IPv4 and IPv6 keep the port at byte 2, big-endian).
    func withPort(_ port: Int) -> SocketAddressBytes {
        var copy = self
        if copy.storage.count >= 4 {
            copy.storage[2] = UInt8(truncatingIfNeeded: port >> 8)
            copy.storage[3] = UInt8(truncatingIfNeeded: port)
        }
        return copy
    }
}

extension SocketAddressBytes {
    /// "HOST:PORT", with brackets around an IPv6 address ("[2001:db8::1]:7447").
    func hostPort(_ port: Int) -> String {
        family == AF_INET6 ? "[\(text)]:\(port)" : "\(text):\(port)"
    }
}
