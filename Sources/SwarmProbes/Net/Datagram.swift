import CSwarmProbes
import Foundation
import SwarmCore

/// One datagram (or one error-queue entry) with what the kernel said about it.
struct ReceivedDatagram: Sendable {
    var bytes: [UInt8]
    /// Source address, numeric; empty when unknown.
    var source: String
    /// Kernel receive time (SO_TIMESTAMPNS) in ns since the epoch, CLOCK_REALTIME; nil when absent.
    var kernelTime: Int64?
    var ttl: Int?
    /// The TOS / traffic-class byte: DSCP in the upper six bits, ECN in the lower two.
    var tos: Int?
    var error: ExtendedError?
    /// The raw source address, for replying.
    var sourceAddress: sockaddr_storage?

    /// An IP_RECVERR entry: an ICMP error about a datagram this socket sent, or a local error.
    struct ExtendedError: Sendable {
        var errno: Int32
        /// SO_EE_ORIGIN_*: 1 local, 2 ICMP, 3 ICMPv6.
        var origin: UInt8
        var type: UInt8
        var code: UInt8
        /// The next-hop MTU for "fragmentation needed" / "packet too big".
        var info: UInt32
        /// Who sent the ICMP error; empty for local errors.
        var offender: String
        var isICMP: Bool { origin == 2 || origin == 3 }
    }
}

enum Datagram {
    /// recvmsg() with control messages; nil when nothing was read (errno says why).
    static func receive(_ fd: Int32, flags: Int32 = 0, capacity: Int = 65536) -> ReceivedDatagram? {
        var buffer = [UInt8](repeating: 0, count: capacity)
        var from = sockaddr_storage()
        var meta = cswarm_recv_meta()
        let n = buffer.withUnsafeMutableBytes { raw in
            cswarm_recvmsg(fd, raw.baseAddress, UInt(raw.count), flags, &from, &meta)
        }
        guard n >= 0 else { return nil }
        buffer.removeSubrange(Int(n)...)
        var datagram = ReceivedDatagram(
            bytes: buffer,
            source: numericHost(from),
            kernelTime: meta.rx_sec == 0 ? nil : meta.rx_sec * 1_000_000_000 + meta.rx_nsec,
            ttl: meta.ttl >= 0 ? Int(meta.ttl) : nil,
            tos: meta.tos >= 0 ? Int(meta.tos) : nil,
            sourceAddress: from.ss_family == 0 ? nil : from
        )
        if meta.has_error != 0 {
            datagram.error = .init(
                errno: Int32(meta.ee_errno),
                origin: meta.ee_origin,
                type: meta.ee_type,
                code: meta.ee_code,
                info: meta.ee_info,
                offender: numericHost(meta.offender)
            )
        }
        return datagram
    }

    /// Now on CLOCK_REALTIME in ns, the clock SO_TIMESTAMPNS uses.
    static func realtimeNanos() -> Int64 {
        var seconds: Int64 = 0
        var nanos: Int64 = 0
        cswarm_realtime(&seconds, &nanos)
        return seconds * 1_000_000_000 + nanos
    }

    /// The numeric host of a socket address ("" for AF_UNSPEC).
    static func numericHost(_ storage: sockaddr_storage) -> String {
        var storage = storage
        let length: Int
        switch Int32(storage.ss_family) {
        case AF_INET: length = MemoryLayout<sockaddr_in>.size
        case AF_INET6: length = MemoryLayout<sockaddr_in6>.size
        default: return ""
        }
        var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, socklen_t(length), &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard rc == 0 else { return "" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Waits until `fd` is readable (or has an error queued) for at most `timeout`.
    /// - Returns: whether the socket is ready.
    static func waitReadable(_ fd: Int32, timeout: Duration) -> Bool {
        cswarm_wait_readable(fd, max(0, timeout.nanoseconds)) > 0
    }

    /// The text of the current errno.
    static func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
}

/// Runs blocking socket work on a thread of its own, so a probe that waits on `poll` for seconds never
/// holds one of Swift's few cooperative threads or a shared thread-pool slot.
enum DedicatedThread {
    static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = name
            thread.start()
        }
    }
}
