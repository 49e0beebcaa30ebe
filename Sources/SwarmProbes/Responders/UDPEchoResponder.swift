import CSwarmProbes
import Foundation
// why: responders take the caller's Logger.
public import Logging
import SwarmCore
import Synchronization

/// Answers authenticated UDP echo requests, reporting the TOS byte each request arrived with
/// (IP_RECVTOS) so the sender can see DSCP remarking and ECN marks on the path.
///
/// One blocking thread; an unauthenticated or malformed packet is dropped, counted, and never
/// answered (the responder must not become a reflector).
public final class UDPEchoResponder: Sendable {
    public static let defaultPort = 7447

    private let socket: BoundSocket
    private let keyring: ResponderKeyring
    private let logger: Logger
    private let tally = Mutex(ResponderCounters())
    private let stopped = Atomic<Bool>(false)

    /// Binds at once, so a port clash is reported before anything starts.
    public init(host: String = "::", port: Int = defaultPort, keyring: ResponderKeyring, logger: Logger) throws {
        do {
            socket = try BoundSocket.open(host: host, port: port, type: SOCK_DGRAM)
        } catch {
            throw ProbeError(.cannotBind, "udp echo responder: \(error.message)")
        }
        _ = cswarm_enable_receive_info(socket.fd, socket.family, 0)
        if socket.family == AF_INET6 {
            // why: on a dual-stack socket IPv4 packets report their TOS through the IPv4 option.
            var on: Int32 = 1
            setsockopt(socket.fd, Int32(IPPROTO_IP), IP_RECVTOS, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        self.keyring = keyring
        self.logger = logger
    }

    public var port: Int { socket.port }
    public var counters: ResponderCounters { tally.withLock { $0 } }

    /// Serves on a thread of its own until `stop()`.
    public func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "udp-echo-responder"
        thread.start()
        logger.info("udp echo responder listening", metadata: ["swarm.port": "\(socket.port)"])
    }

    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    private func serve() {
        defer { close(socket.fd) }
        while !stopped.load(ordering: .relaxed) {
            guard Datagram.waitReadable(socket.fd, timeout: .milliseconds(250)) else { continue }
            while let datagram = Datagram.receive(socket.fd, flags: Int32(MSG_DONTWAIT), capacity: 2048),
                let from = datagram.sourceAddress
            {
                answer(datagram, from: from)
            }
        }
    }

    private func answer(_ datagram: ReceivedDatagram, from: sockaddr_storage) {
        guard datagram.bytes.count >= UDPEchoPacket.minimumLength,
            Array(datagram.bytes.prefix(4)) == UDPEchoPacket.magic
        else {
            tally.withLock { $0.refusedMalformed += 1 }
            return
        }
        guard let key = keyring.current, ResponderAuth.verify(datagram.bytes, key: key),
            var packet = UDPEchoPacket.decode(datagram.bytes), packet.kind == .request
        else {
            let refused = tally.withLock { counters -> UInt64 in
                counters.refusedUnauthenticated += 1
                return counters.refusedUnauthenticated
            }
            // why: log the first refusal and then every 1000th, so a flood cannot fill the log.
            if refused == 1 || refused % 1000 == 0 {
                logger.warning(
                    "udp echo responder refused a packet without a valid swarm tag",
                    metadata: ["swarm.from": "\(datagram.source)", "swarm.refused": "\(refused)"]
                )
            }
            return
        }
        packet.kind = .reply
        packet.tosSeen = datagram.tos.map { UInt8(truncatingIfNeeded: $0) }
        // why: the tag covers the turnaround, so it is estimated to include the encode that follows:
        // the time so far plus one more encode, measured on a throwaway.
        let before = Datagram.realtimeNanos()
        _ = packet.encode(length: datagram.bytes.count, key: key)
        let encodeCost = Datagram.realtimeNanos() - before
        if let received = datagram.kernelTime {
            let held = Datagram.realtimeNanos() - received + encodeCost
            packet.turnaroundNanos = UInt32(clamping: max(0, held))
        }
        let reply = packet.encode(length: datagram.bytes.count, key: key)
        var address = from
        let length =
            Int32(address.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        _ = reply.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket.fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, socklen_t(length))
                }
            }
        }
        tally.withLock { $0.answered += 1 }
    }
}
