/// Why collection from a device failed, in words an operator can act on. The kind is stored with
/// the measurement (`GnmiResult.error_kind`) so the device's status can be filtered and shown.
public struct GNMIFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case plaintextDevice = "plaintext_device"
        case certificateNameMismatch = "certificate_name_mismatch"
        case unknownCA = "unknown_ca"
        case certificateExpired = "certificate_expired"
        case certificateNotYetValid = "certificate_not_yet_valid"
        /// The certificate's extended key usage does not allow TLS server authentication.
        case certificateNotForServers = "certificate_not_for_servers"
        case pinnedCertificateMismatch = "pinned_certificate_mismatch"
        case clientCertificateRejected = "client_certificate_rejected"
        case wrongCredentials = "wrong_credentials"
        case unsupportedEncoding = "unsupported_encoding"
        case unknownPath = "unknown_path"
        case connectionRefused = "connection_refused"
        case unreachable
        case timeout
        case streamEnded = "stream_ended"
        case quietStream = "quiet_stream"
        case badConfiguration = "bad_configuration"
        case deviceError = "device_error"
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Failures that retrying soon will not fix (configuration or trust); the collector still
    /// retries, but at the backoff cap rather than hammering the device.
    public var needsOperator: Bool {
        switch kind {
        case .plaintextDevice, .certificateNameMismatch, .unknownCA, .certificateExpired, .certificateNotYetValid,
            .certificateNotForServers, .pinnedCertificateMismatch, .clientCertificateRejected, .wrongCredentials,
            .unsupportedEncoding,
            .unknownPath, .badConfiguration:
            true
        case .connectionRefused, .unreachable, .timeout, .streamEnded, .quietStream, .deviceError:
            false
        }
    }
}
