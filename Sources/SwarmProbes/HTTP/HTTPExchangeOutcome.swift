/// What one HTTP exchange produced, as a Sendable snapshot taken on the channel's event loop.
struct HTTPExchangeOutcome: Sendable {
    /// Monotonic times of the socket events; nil where the exchange did not get that far.
    struct Times: Sendable {
        var connectStarted: ContinuousClock.Instant?
        var connected: ContinuousClock.Instant?
        /// The client's handshake is done: the moment it sent its first application_data record.
        var handshakeDone: ContinuousClock.Instant?
        /// The last write to the socket before the response began (the request).
        var requestSent: ContinuousClock.Instant?
        /// The socket read that delivered the first response byte.
        var firstByte: ContinuousClock.Instant?
        /// The socket read that delivered the last response byte.
        var lastByte: ContinuousClock.Instant?
        /// The response was complete.
        var finished: ContinuousClock.Instant?
    }

    struct Response: Sendable {
        var statusCode: Int
        var reasonPhrase: String
        var httpVersion: String
        var location: String = ""
        /// Lower-cased Content-Encoding, empty for identity.
        var contentEncoding: String = ""
        /// Body bytes as received (after de-chunking, before decoding).
        var bodyBytes: UInt64 = 0
        /// Body bytes after gzip/deflate decoding; nil when the encoding was not decoded.
        var decodedBytes: UInt64?
        /// nil when no substring was expected.
        var bodyMatched: Bool?
        /// Why the body could not be decoded, if it could not.
        var decodingProblem: String?
    }

    struct TLS: Sendable {
        var version: String
        var cipher: String
        var certificate: CertificateSummary?
    }

    var times = Times()
    var response: Response?
    var tls: TLS?
    var failure: HTTPExchangeFailure?
}

/// The leaf certificate's fields the probe reports.
struct CertificateSummary: Sendable, Hashable {
    var subject: String
    var issuer: String
    var notValidBefore: Int64
    var notValidAfter: Int64
    var isSelfIssued: Bool { subject == issuer }
}

/// Why an exchange stopped; `message` is written for an operator.
struct HTTPExchangeFailure: Error, Sendable {
    enum Kind: Sendable {
        case timeout, connect, tls, certificate, response
    }
    var kind: Kind
    var message: String
}
