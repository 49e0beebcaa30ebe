import Foundation
import Synchronization

/// One shared ICMP socket per (family, DSCP, source, interface) with one receiving thread: a
/// thousand targets at one request per second cost one socket and one thread, not a thousand.
///
/// Requests carry a sequence number unique among those outstanding and a random 64-bit token; a
/// reply counts only when both match, so stray replies (another ping on a raw socket) are ignored.
final class ICMPEngine: Sendable {
    struct Key: Hashable, Sendable {
        var family: Int32
        var dscp: Int
        var source: String
        var interface: String
    }

    private struct Pending {
        var run: ICMPRun
        var index: Int
        var sentAt: Int64
        var token: UInt64
    }

    private struct State {
        var nextSequence: UInt16 = .random(in: 0...UInt16.max)
        var pending: [UInt16: Pending] = [:]
    }

    let socket: ICMPSocket
    private let state = Mutex(State())

    private static let engines = Mutex<[Key: ICMPEngine]>([:])

    /// The engine for `key`, opening its socket on first use. Failures are not cached: the operator may
    /// fix `ping_group_range` or capabilities while the agent runs.
    static func engine(for key: Key) -> Result<ICMPEngine, SocketUnavailable> {
        engines.withLock { engines in
            if let engine = engines[key] { return .success(engine) }
            switch ICMPSocket.open(family: key.family, dscp: key.dscp, source: key.source, interface: key.interface) {
            case .success(let socket):
                let engine = ICMPEngine(socket: socket)
                engines[key] = engine
                engine.startReceiving()
                return .success(engine)
            case .failure(let problem):
                return .failure(problem)
            }
        }
    }

    private init(socket: ICMPSocket) {
        self.socket = socket
    }

    /// Sends request `index` of `run` to `address`. Returns 0, or the errno of a failed send.
    func send(_ run: ICMPRun, index: Int, to address: SocketAddressBytes, payloadSize: Int) -> Int32 {
        let token = UInt64.random(in: 1...UInt64.max)
        let sequence = state.withLock { state -> UInt16 in
            var sequence = state.nextSequence
            // why: skip numbers still awaiting a reply, so a late reply never lands on a newer request.
            while state.pending[sequence] != nil { sequence &+= 1 }
            state.nextSequence = sequence &+ 1
            return sequence
        }
        let packet = ICMPEcho.request(
            family: socket.family,
            identifier: socket.identifier,
            sequence: sequence,
            token: token,
            payloadSize: payloadSize
        )
        run.noteSent(index: index, sequence: sequence)
        state.withLock {
            $0.pending[sequence] = Pending(run: run, index: index, sentAt: Datagram.realtimeNanos(), token: token)
        }
        // why: the send time is taken again just before sendto, so bookkeeping is not counted as RTT.
        let sentAt = Datagram.realtimeNanos()
        let rc = packet.withUnsafeBytes { raw in
            address.withSockaddr { sendto(socket.fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, $1) }
        }
        state.withLock { state in
            if state.pending[sequence]?.token == token { state.pending[sequence]?.sentAt = sentAt }
        }
        if rc < 0 {
            let code = errno
            state.withLock { _ = $0.pending.removeValue(forKey: sequence) }
            return code
        }
        return 0
    }

    /// Forgets the run's outstanding requests (its replies are no longer awaited).
    func finish(_ run: ICMPRun) {
        let sequences = run.sequences
        state.withLock { state in
            for sequence in sequences where state.pending[sequence]?.run === run {
                state.pending.removeValue(forKey: sequence)
            }
        }
    }

    private func startReceiving() {
        let thread = Thread { [self] in receiveLoop() }
        thread.name = "icmp-receive"
        thread.start()
    }

    private func receiveLoop() {
        while true {
            guard Datagram.waitReadable(socket.fd, timeout: .seconds(1)) else { continue }
            while let datagram = Datagram.receive(socket.fd, flags: Int32(MSG_DONTWAIT), capacity: 4096) {
                handle(datagram)
            }
        }
    }

    private func handle(_ datagram: ReceivedDatagram) {
        let receivedAt = datagram.kernelTime ?? Datagram.realtimeNanos()
        guard let reply = ICMPEcho.parseReply(datagram.bytes, family: socket.family, mode: socket.mode) else { return }
        if socket.mode == .raw && reply.identifier != socket.identifier { return }
        let match = state.withLock { state -> Pending? in
            guard let pending = state.pending[reply.sequence], pending.token == reply.token else { return nil }
            return pending
        }
        guard let pending = match else { return }
        let rtt = Duration.nanoseconds(max(0, receivedAt - pending.sentAt))
        pending.run.record(index: pending.index, rtt: rtt, ttl: reply.headerTTL ?? datagram.ttl)
    }
}

/// The replies of one probe run, filled in by the engine's receiving thread.
final class ICMPRun: Sendable {
    private struct State {
        var rtts: [Duration?]
        var sequences: [UInt16] = []
        var ttl: Int?
        var received = 0
        var duplicates = 0
        var reordered = 0
        var highestIndex = -1
        var expected: Int
        var waiter: CheckedContinuation<Void, Never>?
        var done = false

        mutating func takeWaiterIfDone() -> CheckedContinuation<Void, Never>? {
            guard received >= expected, let waiter else { return nil }
            self.waiter = nil
            return waiter
        }
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(rtts: Array(repeating: nil, count: count), expected: count))
    }

    var sequences: [UInt16] { state.withLock { $0.sequences } }

    func noteSent(index: Int, sequence: UInt16) {
        state.withLock { $0.sequences.append(sequence) }
    }

    /// Requests that could not be sent are not waited for.
    func noteSendFailed() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.expected -= 1
            return state.takeWaiterIfDone()
        }
        waiter?.resume()
    }

    func record(index: Int, rtt: Duration, ttl: Int?) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.rtts[index] != nil {
                state.duplicates += 1
                return nil
            }
            state.rtts[index] = rtt
            state.received += 1
            if index < state.highestIndex { state.reordered += 1 }
            state.highestIndex = max(state.highestIndex, index)
            if let ttl { state.ttl = ttl }
            return state.takeWaiterIfDone()
        }
        waiter?.resume()
    }

    /// Waits until every sent request has its reply, or `timeout` passes.
    func waitForReplies(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilComplete() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.done = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    private func waitUntilComplete() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.done || state.received >= state.expected { return true }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    var snapshot: (rtts: [Duration?], ttl: Int?, received: Int, duplicates: Int, reordered: Int) {
        state.withLock { ($0.rtts, $0.ttl, $0.received, $0.duplicates, $0.reordered) }
    }
}
