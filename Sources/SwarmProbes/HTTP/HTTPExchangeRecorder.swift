import NIOCore
import NIOSSL

/// What one exchange has learned so far, written by its handlers on the channel's event loop (and
/// only there), and the promise that hands a snapshot back exactly once: on completion, on an
/// error or at the deadline, whichever comes first.
final class HTTPExchangeRecorder {
    let isTLS: Bool
    private let promise: EventLoopPromise<HTTPExchangeOutcome>
    private(set) var isFinished = false

    var channel: (any Channel)?
    var times = HTTPExchangeOutcome.Times()
    /// The newest socket read and write, for the handlers that stamp later events with them.
    var lastRead: ContinuousClock.Instant?
    var lastFlush: ContinuousClock.Instant?
    var watcher = TLSRecordWatcher()
    var tlsVersion = ""
    var certificate: NIOSSLCertificate?
    var response: HTTPExchangeOutcome.Response?
    /// Called once when the handshake is done (certificate-only exchanges stop there).
    var onHandshakeDone: (() -> Void)?

    init(isTLS: Bool, promise: EventLoopPromise<HTTPExchangeOutcome>) {
        self.isTLS = isTLS
        self.promise = promise
    }

    /// Completes the exchange (the first call wins) and closes the connection.
    func finish(_ failure: HTTPExchangeFailure?) {
        guard !isFinished else { return }
        isFinished = true
        onHandshakeDone = nil
        var outcome = HTTPExchangeOutcome(times: times, response: response, failure: failure)
        if isTLS && times.handshakeDone != nil {
            outcome.tls = HTTPExchangeOutcome.TLS(
                version: tlsVersion,
                cipher: watcher.cipherSuite.map(TLSCipherSuiteName.name(of:)) ?? "",
                certificate: certificate.flatMap(Self.summary(of:))
            )
        }
        promise.succeed(outcome)
        channel?.close(promise: nil)
    }

    /// Where the exchange was when it stopped, for a timeout's reason.
    var stage: String {
        if times.connected == nil { return "while connecting" }
        if isTLS && times.handshakeDone == nil { return "during the TLS handshake" }
        if times.firstByte == nil { return "waiting for the first response byte" }
        return "while reading the response (\(response?.bodyBytes ?? 0) body bytes so far)"
    }

    static func summary(of certificate: NIOSSLCertificate) -> CertificateSummary? {
        guard let der = try? certificate.toDERBytes(), let names = CertificateNames(der: der) else { return nil }
        return CertificateSummary(
            subject: names.subject,
            issuer: names.issuer,
            notValidBefore: Int64(certificate.notValidBefore),
            notValidAfter: Int64(certificate.notValidAfter)
        )
    }

    static func versionText(_ version: TLSVersion?) -> String {
        switch version {
        case .tlsv1: "TLSv1"
        case .tlsv11: "TLSv1.1"
        case .tlsv12: "TLSv1.2"
        case .tlsv13: "TLSv1.3"
        case nil: ""
        }
    }
}
