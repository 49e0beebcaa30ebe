import NIOSSL

/// The two client TLS contexts the probe uses, built once: loading the system trust store for every
/// run would cost more than the handshake being measured.
enum HTTPTLSContexts {
    private static let verifying = make(verify: true)
    private static let insecure = make(verify: false)

    static func context(verify: Bool) -> Result<NIOSSLContext, ProbeError> { verify ? verifying : insecure }

    /// TLS 1.2 or newer (as curl requires by default), ALPN `http/1.1`, the system trust roots, and
    /// certificate and host name verification unless `verify` is false.
    private static func make(verify: Bool) -> Result<NIOSSLContext, ProbeError> {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if !verify { configuration.certificateVerification = .none }
        do {
            return .success(try NIOSSLContext(configuration: configuration))
        } catch {
            return .failure(ProbeError(.tlsSetupFailed, "cannot set up TLS (trust store or configuration): \(error)"))
        }
    }
}
