import CSwarmProbes
import Foundation
import NIOPosix
// why: the probe speaks SwarmCore types (ProbeKind, ProbeObservation).
public import SwarmCore

/// Connects to host:port and reports the connect time (SYN sent → established) and the kernel's
/// `TCP_INFO` for the live socket, read by field name through `CSwarmProbes`.
///
/// The connect is a non-blocking `connect` + `poll` on a thread-pool thread (never on an event loop),
/// so the time measured is the kernel's handshake, not scheduling.
public struct TCPProbe: Probe {
    public static let kind: ProbeKind = .tcp

    public init() {}

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let startedAt = Timestamp.now()
        let clock = ContinuousClock()
        let began = clock.now
        let spec = context.spec
        do {
            let result = try await NIOThreadPool.singleton.runIfActive {
                Self.measure(
                    host: spec.target.host,
                    port: spec.target.port,
                    family: spec.target.family,
                    timeout: spec.schedule.timeout,
                    dscp: spec.options.dscp,
                    send: spec.options.tcpSend,
                    expect: spec.options.tcpExpect,
                    source: spec.options.sourceAddress,
                    interface: spec.options.interface
                )
            }
            let status: MeasurementStatus =
                switch result.outcome {
                case .connected: .ok
                case .timeout: .timeout
                case .refused, .unreachable, .expectMismatch, .error: .failed
                }
            return context.observation(
                kind: .tcp,
                startedAt: startedAt,
                duration: clock.now - began,
                status: status,
                reason: status == .ok ? "" : "tcp \(spec.target.host):\(spec.target.port): \(result.error)",
                result: .tcp(result)
            )
        } catch {
            return context.observation(
                kind: .tcp,
                startedAt: startedAt,
                duration: clock.now - began,
                status: .failed,
                reason: "tcp probe could not run: the agent is shutting down (\(error))"
            )
        }
    }

    /// The blocking measurement; runs on a thread-pool thread.
    static func measure(
        host: String,
        port: Int,
        family: TestSpec.AddressFamily,
        timeout: Duration,
        dscp: Int,
        send: String,
        expect: String,
        source: String = "",
        interface: String = ""
    ) -> TCPProbeResult {
        let deadline = ContinuousClock.now + timeout
        let addresses: [SocketAddressBytes]
        switch SocketAddressBytes.resolve(host: host, port: port, family: family, type: SOCK_STREAM) {
        case .success(let resolved): addresses = resolved
        case .failure(let message):
            return TCPProbeResult(address: "", port: port, outcome: .unreachable, error: message, dscp: dscp)
        }
        guard let address = addresses.first else {
            return TCPProbeResult(
                address: "",
                port: port,
                outcome: .unreachable,
                error: "\(host) has no address",
                dscp: dscp
            )
        }
        let fd = socket(
            address.family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            0
        )
        guard fd >= 0 else {
            return TCPProbeResult(
                address: address.text,
                port: port,
                outcome: .error,
                error: "socket(): \(errnoText())",
                dscp: dscp
            )
        }
        defer { close(fd) }
        if let problem = SocketBinding.apply(fd, family: address.family, source: source, interface: interface) {
            return TCPProbeResult(address: address.text, port: port, outcome: .error, error: problem, dscp: dscp)
        }
        if dscp > 0 {
            var tos = Int32(dscp << 2)
            if address.family == AF_INET6 {
                setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_TCLASS, &tos, socklen_t(MemoryLayout<Int32>.size))
            } else {
                setsockopt(fd, Int32(IPPROTO_IP), IP_TOS, &tos, socklen_t(MemoryLayout<Int32>.size))
            }
        }

        let clock = ContinuousClock()
        let started = clock.now
        let rc = address.withSockaddr { connect(fd, $0, $1) }
        if rc != 0 && errno != EINPROGRESS {
            return failure(errno, address: address, port: port, dscp: dscp)
        }
        if rc != 0 {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let remaining = max(0, (deadline - ContinuousClock.now).milliseconds)
            let ready = poll(&pfd, 1, Int32(clamping: remaining))
            if ready == 0 {
                return TCPProbeResult(
                    address: address.text,
                    port: port,
                    outcome: .timeout,
                    error: "no answer to SYN within \(timeout)",
                    dscp: dscp
                )
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if ready < 0 || soError != 0 {
                return failure(ready < 0 ? errno : soError, address: address, port: port, dscp: dscp)
            }
        }
        let connectTime = clock.now - started

        var expectMatched: Bool?
        var error = ""
        if !send.isEmpty {
            let bytes = Array(send.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        if !expect.isEmpty {
            let received = readUntil(fd: fd, contains: Array(expect.utf8), deadline: deadline)
            expectMatched = received
            if !received { error = "reply did not contain the expected text before the timeout" }
        }
        var raw = cswarm_tcp_info()
        var info: TCPInfo?
        if cswarm_read_tcp_info(fd, &raw) == 0 {
            var i = TCPInfo()
            i.state = raw.state
            i.retransmits = raw.retransmits
            i.sndWscale = raw.snd_wscale
            i.rcvWscale = raw.rcv_wscale
            i.ecnNegotiated = raw.ecn_negotiated != 0
            i.rttMicros = raw.rtt_us
            i.rttvarMicros = raw.rttvar_us
            i.minRttMicros = raw.min_rtt_us
            i.sndCwnd = raw.snd_cwnd
            i.sndSsthresh = raw.snd_ssthresh
            i.sndMss = raw.snd_mss
            i.advmss = raw.advmss
            i.pmtu = raw.pmtu
            i.totalRetrans = raw.total_retrans
            i.deliveryRateBytesPerSecond = raw.delivery_rate
            info = i
        }
        return TCPProbeResult(
            address: address.text,
            port: port,
            outcome: expectMatched == false ? .expectMismatch : .connected,
            connectTime: connectTime,
            info: info,
            congestionControl: congestionControl(fd),
            expectMatched: expectMatched,
            error: error,
            dscp: dscp
        )
    }

    private static func failure(_ code: Int32, address: SocketAddressBytes, port: Int, dscp: Int) -> TCPProbeResult {
        let outcome: TCPOutcome =
            switch code {
            case ECONNREFUSED: .refused
            case ETIMEDOUT: .timeout
            case ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL: .unreachable
            default: .error
            }
        let text = String(cString: strerror(code))
        return TCPProbeResult(address: address.text, port: port, outcome: outcome, error: text.lowercased(), dscp: dscp)
    }

    private static func congestionControl(_ fd: Int32) -> String {
        var name = [CChar](repeating: 0, count: 32)
        var length = socklen_t(name.count)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_CONGESTION, &name, &length) == 0 else { return "" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func readUntil(fd: Int32, contains needle: [UInt8], deadline: ContinuousClock.Instant) -> Bool {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < 65_536 {
            let remaining = (deadline - ContinuousClock.now).milliseconds
            if remaining <= 0 { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(clamping: remaining)) <= 0 { return false }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return false }
            received.append(contentsOf: buffer[0..<count])
            if received.count >= needle.count,
                received.indices.dropLast(needle.count - 1).contains(where: {
                    received[$0..<$0 + needle.count].elementsEqual(needle)
                })
            {
                return true
            }
        }
        return false
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
