import CSwarmProbes
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwarmCore

/// One request of a probe run (the probe makes several when it follows redirects): name lookup,
/// the exchange, and for a certificate that fails verification a second handshake without
/// verification to say why.
struct HTTPAttempt {
    /// The getaddrinfo call; nil for an address literal.
    var dns: Duration?
    /// When the lookup began (or the attempt, before a lookup failed).
    var started: ContinuousClock.Instant
    /// When the exchange returned, for the total of an exchange that did not finish.
    var ended: ContinuousClock.Instant
    var outcome = HTTPExchangeOutcome()
    var failure: HTTPExchangeFailure?
    /// The certificate read by the diagnosis handshake, when verification failed.
    var refusedCertificate: CertificateSummary?

    static func run(
        target: HTTPTarget,
        method: HTTPMethod,
        spec: TestSpec,
        deadline: ContinuousClock.Instant
    ) async -> HTTPAttempt {
        var attempt = HTTPAttempt(started: .now, ended: .now)
        defer { attempt.ended = .now }
        let address: SocketAddress
        switch await lookUp(target, family: spec.target.family, deadline: deadline) {
        case .success(let found):
            address = found.address
            attempt.dns = found.took
            if let lookupStarted = found.started { attempt.started = lookupStarted }
        case .failure(let failure):
            attempt.failure = failure
            attempt.ended = .now
            return attempt
        }

        let options = spec.options.http
        var tlsContext: NIOSSLContext?
        if target.isTLS {
            switch HTTPTLSContexts.context(verify: !options.insecureSkipVerify) {
            case .success(let context): tlsContext = context
            case .failure(let error):
                attempt.failure = HTTPExchangeFailure(kind: .tls, message: error.message)
                attempt.ended = .now
                return attempt
            }
        }
        let request = HTTPExchange.Request(
            target: target,
            address: address,
            head: requestHead(target: target, method: method, headers: options.headers),
            expectSubstring: options.expectSubstring,
            tlsContext: tlsContext,
            dscp: spec.options.dscp,
            deadline: deadline
        )
        attempt.outcome = await HTTPExchange.perform(request)
        attempt.ended = .now
        attempt.failure = attempt.outcome.failure
        if attempt.failure?.kind == .certificate, !options.insecureSkipVerify {
            await attempt.explainRefusedCertificate(request: request)
        }
        return attempt
    }

    /// The request head: defaults a client sends, then the test's own headers, which replace them.
    static func requestHead(target: HTTPTarget, method: HTTPMethod, headers custom: [String: String]) -> HTTPRequestHead
    {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "User-Agent", value: "streamswarm-probe")
        headers.add(name: "Accept", value: "*/*")
        headers.add(name: "Accept-Encoding", value: "gzip, deflate")
        for (name, value) in custom.sorted(by: { $0.key < $1.key }) { headers.replaceOrAdd(name: name, value: value) }
        // One request per connection: the probe measures a fresh connection every run.
        headers.replaceOrAdd(name: "Connection", value: "close")
        return HTTPRequestHead(version: .http1_1, method: method, uri: target.requestTarget, headers: headers)
    }

    /// Copies what this attempt measured into `result` (fields of earlier attempts are replaced).
    func fill(_ result: inout HTTPProbeResult) {
        let times = outcome.times
        var phases = HTTPPhases()
        phases.dns = dns
        phases.connect = Self.span(times.connectStarted, times.connected)
        phases.tls = Self.span(times.connected, times.handshakeDone)
        phases.firstByte = Self.span(times.requestSent, times.firstByte)
        phases.transfer = Self.span(times.firstByte, times.lastByte)
        // From the lookup when there was one, else from connect(): the probe's own setup is not counted.
        let start = dns == nil ? times.connectStarted ?? started : started
        phases.total = (times.finished ?? ended) - start
        result.phases = phases

        let response = outcome.response
        result.statusCode = response?.statusCode ?? 0
        result.bytes = response?.bodyBytes ?? 0
        result.httpVersion = response?.httpVersion ?? ""
        result.contentEncoding = response?.contentEncoding ?? ""
        result.compressedBytes = response?.bodyBytes ?? 0
        result.decodedBytes = response?.decodedBytes ?? 0
        result.bodyMatched = response?.bodyMatched
        // 0 when the whole body came in the read that began it: no transfer time to divide by.
        if let transfer = phases.transfer, transfer > .zero {
            result.throughputBytesPerSecond = Double(result.bytes) / transfer.seconds
        } else {
            result.throughputBytesPerSecond = 0
        }

        result.tlsVersion = outcome.tls?.version ?? ""
        result.cipher = outcome.tls?.cipher ?? ""
        let certificate = outcome.tls?.certificate ?? refusedCertificate
        result.certificateSubject = certificate?.subject ?? ""
        result.certificateIssuer = certificate?.issuer ?? ""
        result.certificateDaysToExpiry = certificate.map {
            Double($0.notValidAfter - Timestamp.now().unixNanos / 1_000_000_000) / 86_400
        }
    }

    private static func span(_ from: ContinuousClock.Instant?, _ to: ContinuousClock.Instant?) -> Duration? {
        guard let from, let to else { return nil }
        return to - from
    }

    // MARK: - Name lookup

    private struct Lookup: Sendable {
        var address: SocketAddress
        var started: ContinuousClock.Instant?
        var took: Duration?
    }

    /// getaddrinfo on a thread-pool thread, timed there; no lookup for address literals.
    private static func lookUp(
        _ target: HTTPTarget,
        family: TestSpec.AddressFamily,
        deadline: ContinuousClock.Instant
    ) async -> Result<Lookup, HTTPExchangeFailure> {
        if IPAddressText.parse(target.host) != nil {
            return resolveNumeric(target, family: family)
        }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: Result<Lookup, HTTPExchangeFailure>.self)
        let host = target.host
        let port = target.port
        NIOThreadPool.singleton.runIfActive(eventLoop: loop) { () -> Result<Lookup, HTTPExchangeFailure> in
            let started = ContinuousClock.now
            let resolution = SocketAddressBytes.resolve(host: host, port: port, family: family, type: SOCK_STREAM)
            let took = ContinuousClock.now - started
            switch resolution {
            case .failure(let message):
                return .failure(HTTPExchangeFailure(kind: .connect, message: message))
            case .success(let addresses):
                guard let first = addresses.first, let address = first.socketAddress else {
                    return .failure(HTTPExchangeFailure(kind: .connect, message: "\(host) has no usable address"))
                }
                return .success(Lookup(address: address, started: started, took: took))
            }
        }.cascade(to: promise)
        let remaining = TimeAmount.nanoseconds(max(0, (deadline - .now).nanoseconds))
        let timer = loop.scheduleTask(in: remaining) {
            promise.succeed(.failure(HTTPExchangeFailure(kind: .timeout, message: "name lookup of \(host) timed out")))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        do {
            return try await promise.futureResult.get()
        } catch {
            return .failure(HTTPExchangeFailure(kind: .connect, message: "name lookup could not run: \(error)"))
        }
    }

    private static func resolveNumeric(
        _ target: HTTPTarget,
        family: TestSpec.AddressFamily
    ) -> Result<Lookup, HTTPExchangeFailure> {
        // AI_NUMERICHOST-style: getaddrinfo returns at once for a literal; it also handles %scope.
        switch SocketAddressBytes.resolve(host: target.host, port: target.port, family: family, type: SOCK_STREAM) {
        case .success(let addresses):
            guard let address = addresses.first?.socketAddress else {
                return .failure(HTTPExchangeFailure(kind: .connect, message: "\(target.host) is not a usable address"))
            }
            return .success(Lookup(address: address, started: nil, took: nil))
        case .failure(let message):
            return .failure(HTTPExchangeFailure(kind: .connect, message: message))
        }
    }

    // MARK: - Certificate diagnosis

    /// Reads the refused certificate over a second, unverified handshake and says why it failed.
    private mutating func explainRefusedCertificate(request: HTTPExchange.Request) async {
        guard case .success(let insecure) = HTTPTLSContexts.context(verify: false) else { return }
        var diagnosis = request
        diagnosis.tlsContext = insecure
        diagnosis.certificateOnly = true
        guard let certificate = await HTTPExchange.perform(diagnosis).tls?.certificate else { return }
        refusedCertificate = certificate
        let base = failure?.message ?? "certificate verify failed"
        failure?.message =
            "\(base): "
            + Self.explain(certificate, host: request.target.host, hostnameFailed: base.contains("host name"))
    }

    static func explain(_ certificate: CertificateSummary, host: String, hostnameFailed: Bool) -> String {
        let now = Timestamp.now().unixNanos / 1_000_000_000
        let subject = certificate.subject.isEmpty ? "(empty subject)" : certificate.subject
        if now > certificate.notValidAfter {
            let days = Double(now - certificate.notValidAfter) / 86_400
            return "the certificate \(subject) expired \(Self.days(days)) ago"
        }
        if now < certificate.notValidBefore {
            let days = Double(certificate.notValidBefore - now) / 86_400
            return "the certificate \(subject) is not valid for another \(Self.days(days))"
        }
        if hostnameFailed {
            return "the certificate \(subject) does not name \(host)"
        }
        if certificate.isSelfIssued {
            return "self-signed certificate \(subject) is not in the agent's trust store"
        }
        return "the issuer \(certificate.issuer) of \(subject) is not trusted (a private CA, or the server does not "
            + "send the intermediate certificate)"
    }

    private static func days(_ value: Double) -> String {
        value >= 1 ? "\(Int(value.rounded())) days" : "\(Int((value * 24).rounded())) hours"
    }
}

extension SocketAddressBytes {
    /// The NIO form of this address.
    var socketAddress: SocketAddress? {
        withSockaddr { pointer, length -> SocketAddress? in
            switch Int32(pointer.pointee.sa_family) {
            case AF_INET where length >= MemoryLayout<sockaddr_in>.size:
                let value = UnsafeRawPointer(pointer).loadUnaligned(as: sockaddr_in.self)
                return SocketAddress(value, host: text)
            case AF_INET6 where length >= MemoryLayout<sockaddr_in6>.size:
                let value = UnsafeRawPointer(pointer).loadUnaligned(as: sockaddr_in6.self)
                return SocketAddress(value, host: text)
            default:
                return nil
            }
        }
    }
}
