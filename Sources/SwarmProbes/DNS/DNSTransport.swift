import CSwarmProbes
import Glibc
import SwarmCore

/// One DNS exchange over blocking, non-blocking-with-poll sockets. Runs on a thread-pool thread,
/// never on an event loop, so the times are the kernel's and not the scheduler's.
enum DNSTransport {
    struct Reply {
        var message: DNSMessage
        /// Query sent → reply received (see ``DNSProbe`` for the method).
        var queryTime: Duration
        /// True when the reply's time came from the kernel (SO_TIMESTAMPNS), not the monotonic clock.
        var kernelTimestamp: Bool
    }

    /// Why an exchange gave no reply; `message` is written for an operator.
    struct Failure: Error {
        var isTimeout: Bool
        var message: String
    }

    /// Sends `query` over UDP and waits for the datagram that answers it. Datagrams that do not
    /// decode, or whose id or question differ (spoofed or late), are ignored until the deadline.
    static func exchangeUDP(
        query: DNSMessage,
        to address: SocketAddressBytes,
        deadline: ContinuousClock.Instant,
        dscp: Int
    ) -> Result<Reply, Failure> {
        let wire: [UInt8]
        do { wire = try DNSMessageWriter.encode(query) } catch {
            return .failure(Failure(isTimeout: false, message: "cannot encode the query: \(error)"))
        }
        let fd = socket(
            address.family,
            Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        guard fd >= 0 else { return .failure(Failure(isTimeout: false, message: "socket(): \(errnoText())")) }
        defer { close(fd) }
        if dscp > 0 { _ = cswarm_set_tos(fd, address.family, Int32(dscp), 0) }
        // Best effort: without SO_TIMESTAMPNS the monotonic clock is used.
        _ = cswarm_enable_receive_info(fd, address.family, 0)
        // A connected socket only accepts datagrams from the server and reports ICMP port unreachable.
        guard address.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
            return .failure(Failure(isTimeout: false, message: "connect(): \(errnoText())"))
        }

        var sentSeconds: Int64 = 0
        var sentNanos: Int64 = 0
        let clock = ContinuousClock()
        cswarm_realtime(&sentSeconds, &sentNanos)
        let sentAt = clock.now
        let sent = wire.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == wire.count else {
            return .failure(Failure(isTimeout: false, message: "send(): \(errnoText())"))
        }

        var ignored = 0
        var lastProblem = ""
        var buffer = [UInt8](repeating: 0, count: 65_535)
        while true {
            guard waitReadable(fd, until: deadline) else {
                let note =
                    ignored == 0 ? "" : " (ignored \(ignored) datagram(s) that did not answer it: \(lastProblem))"
                return .failure(Failure(isTimeout: true, message: "no reply within the timeout\(note)"))
            }
            var meta = cswarm_recv_meta()
            let count = buffer.withUnsafeMutableBytes {
                cswarm_recvmsg(fd, $0.baseAddress, UInt($0.count), 0, nil, &meta)
            }
            let receivedAt = clock.now
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                if errno == ECONNREFUSED {
                    return .failure(
                        Failure(isTimeout: false, message: "the server's port is closed (ICMP port unreachable)")
                    )
                }
                return .failure(Failure(isTimeout: false, message: "recvmsg(): \(errnoText())"))
            }
            let reply: DNSMessage
            do { reply = try DNSMessageReader.decode(Array(buffer[0..<count])) } catch {
                ignored += 1
                lastProblem = "malformed: \(error)"
                continue
            }
            guard reply.isReply(to: query) else {
                ignored += 1
                lastProblem = "id \(reply.id) or question did not match"
                continue
            }
            let monotonic = receivedAt - sentAt
            // The kernel stamps the datagram on arrival; it can only be earlier than our wakeup.
            if meta.rx_sec != 0 {
                let kernel = Duration.seconds(meta.rx_sec - sentSeconds) + .nanoseconds(meta.rx_nsec - sentNanos)
                if kernel >= .zero && kernel <= monotonic {
                    return .success(Reply(message: reply, queryTime: kernel, kernelTimestamp: true))
                }
            }
            return .success(Reply(message: reply, queryTime: monotonic, kernelTimestamp: false))
        }
    }

    /// Sends `query` over TCP (RFC 1035 §4.2.2, 2-byte length prefix) and reads one reply. The query
    /// time runs from writing the query on the established connection to the last reply byte, as
    /// dig measures it, so the handshake is not counted.
    static func exchangeTCP(
        query: DNSMessage,
        to address: SocketAddressBytes,
        deadline: ContinuousClock.Instant,
        dscp: Int
    ) -> Result<Reply, Failure> {
        let wire: [UInt8]
        do { wire = try DNSMessageWriter.encode(query) } catch {
            return .failure(Failure(isTimeout: false, message: "cannot encode the query: \(error)"))
        }
        let fd = socket(
            address.family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        guard fd >= 0 else { return .failure(Failure(isTimeout: false, message: "socket(): \(errnoText())")) }
        defer { close(fd) }
        if dscp > 0 { _ = cswarm_set_tos(fd, address.family, Int32(dscp), 0) }
        if let failure = connectTCP(fd, address, deadline: deadline) { return .failure(failure) }

        let framed = [UInt8(wire.count >> 8), UInt8(wire.count & 0xFF)] + wire
        let clock = ContinuousClock()
        let sentAt = clock.now
        var written = 0
        while written < framed.count {
            let count = framed[written...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && (errno == EAGAIN || errno == EINTR) {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&pfd, 1, pollMilliseconds(until: deadline)) > 0 else {
                    return .failure(Failure(isTimeout: true, message: "could not send the query within the timeout"))
                }
                continue
            }
            guard count > 0 else { return .failure(Failure(isTimeout: false, message: "send(): \(errnoText())")) }
            written += count
        }

        let body: [UInt8]
        do {
            let prefix = try readExactly(fd, 2, deadline: deadline).get()
            body = try readExactly(fd, Int(prefix[0]) << 8 | Int(prefix[1]), deadline: deadline).get()
        } catch {
            return .failure(error)
        }
        let queryTime = clock.now - sentAt
        let reply: DNSMessage
        do { reply = try DNSMessageReader.decode(body) } catch {
            return .failure(Failure(isTimeout: false, message: "malformed reply over TCP: \(error)"))
        }
        guard reply.isReply(to: query) else {
            return .failure(
                Failure(isTimeout: false, message: "the TCP reply (id \(reply.id)) does not answer the query")
            )
        }
        return .success(Reply(message: reply, queryTime: queryTime, kernelTimestamp: false))
    }

    // MARK: - Socket helpers

    private static func connectTCP(
        _ fd: Int32,
        _ address: SocketAddressBytes,
        deadline: ContinuousClock.Instant
    ) -> Failure? {
        let rc = address.withSockaddr { connect(fd, $0, $1) }
        if rc == 0 { return nil }
        guard errno == EINPROGRESS else { return connectFailure(errno) }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pfd, 1, pollMilliseconds(until: deadline))
        if ready == 0 { return Failure(isTimeout: true, message: "TCP connect did not complete within the timeout") }
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
        if ready < 0 || soError != 0 { return connectFailure(ready < 0 ? errno : soError) }
        return nil
    }

    private static func connectFailure(_ code: Int32) -> Failure {
        Failure(isTimeout: code == ETIMEDOUT, message: "TCP connect failed: \(String(cString: strerror(code)))")
    }

    private static func readExactly(
        _ fd: Int32,
        _ count: Int,
        deadline: ContinuousClock.Instant
    ) -> Result<[UInt8], Failure> {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(count, 1))
        while received.count < count {
            guard waitReadable(fd, until: deadline) else {
                return .failure(
                    Failure(
                        isTimeout: true,
                        message: "the TCP reply did not arrive within the timeout (\(received.count) of \(count) bytes)"
                    )
                )
            }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count - received.count, 0) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            guard n > 0 else {
                let why = n == 0 ? "the server closed the connection" : "recv(): \(errnoText())"
                return .failure(
                    Failure(isTimeout: false, message: "\(why) after \(received.count) of \(count) reply bytes")
                )
            }
            received += buffer[0..<n]
        }
        return .success(received)
    }

    /// Waits until `fd` is readable; false at the deadline.
    private static func waitReadable(_ fd: Int32, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let timeout = pollMilliseconds(until: deadline)
            if timeout == 0 && ContinuousClock.now >= deadline { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, timeout)
            if ready > 0 { return true }
            if ready == 0 && ContinuousClock.now >= deadline { return false }
            if ready < 0 && errno != EINTR { return true }  // let recv report the error
        }
    }

    /// Milliseconds left until `deadline`, rounded up so poll does not spin just before it.
    static func pollMilliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = (deadline - ContinuousClock.now).nanoseconds
        return left <= 0 ? 0 : Int32(clamping: (left + 999_999) / 1_000_000)
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
