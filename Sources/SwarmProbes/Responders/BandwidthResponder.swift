import CSwarmProbes
import Foundation
// why: responders take the caller's Logger.
public import Logging
import SwarmCore
import Synchronization

/// Serves authenticated TCP throughput tests (see `BandwidthWire`): it sends for a download and
/// sinks for an upload, then reports its side's totals. A connection without a valid hello within
/// 5 s, or replaying a nonce already used, is closed and counted.
public final class BandwidthResponder: Sendable {
    public static let defaultPort = 7448
    /// Longest test a client may ask for, and most tests at once: a responder is not a load generator.
    static let longestTest: Duration = .seconds(60)
    static let mostConnections = 32

    private let socket: BoundSocket
    private let keyring: ResponderKeyring
    private let logger: Logger
    private let tally = Mutex(ResponderCounters())
    private let seenNonces = Mutex<[[UInt8]: ContinuousClock.Instant]>([:])
    private let active = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    public init(host: String = "::", port: Int = defaultPort, keyring: ResponderKeyring, logger: Logger) throws {
        do {
            socket = try BoundSocket.open(host: host, port: port, type: SOCK_STREAM)
        } catch {
            throw ProbeError(.cannotBind, "bandwidth responder: \(error.message)")
        }
        self.keyring = keyring
        self.logger = logger
    }

    public var port: Int { socket.port }
    public var counters: ResponderCounters { tally.withLock { $0 } }

    public func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "bandwidth-responder"
        thread.start()
        logger.info("bandwidth responder listening", metadata: ["swarm.port": "\(socket.port)"])
    }

    public func stop() { stopped.store(true, ordering: .relaxed) }

    private func acceptLoop() {
        defer { close(socket.fd) }
        while !stopped.load(ordering: .relaxed) {
            guard Datagram.waitReadable(socket.fd, timeout: .milliseconds(250)) else { continue }
            let client = accept(socket.fd, nil, nil)
            guard client >= 0 else { continue }
            if active.add(1, ordering: .relaxed).newValue > Self.mostConnections {
                active.subtract(1, ordering: .relaxed)
                close(client)
                logger.warning("bandwidth responder is at its connection limit; refused a connection")
                continue
            }
            let thread = Thread { [self] in
                serve(client)
                close(client)
                active.subtract(1, ordering: .relaxed)
            }
            thread.name = "bandwidth-stream"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        guard let raw = StreamIO.readExactly(fd, BandwidthWire.helloLength, deadline: .now + .seconds(5)) else {
            refuse("no complete hello within 5 s")
            return
        }
        guard let key = keyring.current, let hello = BandwidthWire.decodeHello(raw, key: key) else {
            refuse("hello without a valid swarm tag")
            return
        }
        guard abs(Datagram.realtimeNanos() - hello.clientTimeNanos) < 600 * 1_000_000_000, claim(nonce: hello.nonce)
        else {
            refuse("replayed or stale hello")
            return
        }
        guard StreamIO.writeAll(fd, [BandwidthWire.accepted]) else { return }
        let duration = min(hello.duration, Self.longestTest)
        let start = ContinuousClock.now
        let trailer: BandwidthWire.Trailer
        if hello.clientSends {
            guard
                let received = StreamIO.receiveFrames(fd, deadline: start + duration + .seconds(30), progress: { _ in })
            else { return }
            let elapsed = ContinuousClock.now - start
            trailer = .init(bytes: received.bytes, elapsedNanos: UInt64(elapsed.nanoseconds), retransmits: 0)
        } else {
            guard let sent = StreamIO.sendFrames(fd, for: duration, progress: { _ in }) else { return }
            var info = cswarm_tcp_info()
            _ = cswarm_read_tcp_info(fd, &info)
            let elapsed = ContinuousClock.now - start
            trailer = .init(bytes: sent, elapsedNanos: UInt64(elapsed.nanoseconds), retransmits: info.total_retrans)
        }
        _ = StreamIO.writeAll(fd, trailer.encoded)
        tally.withLock { $0.answered += 1 }
        // why: wait for the client to close first, so the trailer is not lost to a reset.
        _ = StreamIO.readExactly(fd, 1, deadline: .now + .seconds(5))
    }

    /// Records a nonce; false when it was seen within the last 20 minutes.
    private func claim(nonce: [UInt8]) -> Bool {
        let now = ContinuousClock.now
        return seenNonces.withLock { seen in
            seen = seen.filter { $0.value > now }
            if seen[nonce] != nil { return false }
            seen[nonce] = now + .seconds(1200)
            return true
        }
    }

    private func refuse(_ why: String) {
        let refused = tally.withLock { tally -> UInt64 in
            tally.refusedUnauthenticated += 1
            return tally.refusedUnauthenticated
        }
        if refused == 1 || refused % 100 == 0 {
            logger.warning(
                "bandwidth responder refused a connection: \(why)",
                metadata: ["swarm.refused": "\(refused)"]
            )
        }
    }
}
