import Foundation
// why: the factories return NIOSSL configurations that the server and agent bootstraps use.
public import NIOSSL

/// Where TLS material comes from: PEM files on disk or PEM text in memory (tests, benchmarks).
public enum PEMSource: Sendable, Hashable {
    case file(String)
    case pem(String)

    func bytes(what: String) throws -> [UInt8] {
        switch self {
        case .pem(let text):
            return Array(text.utf8)
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PKIError(
                    code: .unreadableFile,
                    message: "cannot read \(what) at \(path): check the path, or run scripts/provision-certs.sh"
                )
            }
            return Array(data)
        }
    }
}

/// The TLS material of one mesh endpoint.
public struct MeshTLSMaterial: Sendable, Hashable {
    /// The endpoint's certificate (chain), PEM.
    public var certificate: PEMSource
    public var privateKey: PEMSource
    /// The swarm CA (a bundle of several during a CA rotation), PEM.
    public var trustRoots: PEMSource

    public init(certificate: PEMSource, privateKey: PEMSource, trustRoots: PEMSource) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.trustRoots = trustRoots
    }
}

/// TLS configuration builders for the mesh: mutual authentication against the swarm CA, TLS 1.3
/// (1.2 only when the server allows it), ALPN `streamswarm/1`.
public enum MeshTLS {
    public static let alpn = "streamswarm/1"

    /// The server side: requires a client certificate issued by the swarm CA.
    ///
    /// - Parameter allowTLS12: also accept TLS 1.2 (older peers); by default only TLS 1.3, since
    ///   both ends of the mesh are ours.
    public static func makeServerConfiguration(
        _ material: MeshTLSMaterial,
        allowTLS12: Bool = false
    ) throws -> TLSConfiguration {
        let (chain, key, roots) = try load(material)
        var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key),
            trustRoots: .certificates(roots)
        )
        // The helper defaults to TLS 1.0.
        configuration.minimumTLSVersion = allowTLS12 ? .tlsv12 : .tlsv13
        configuration.applicationProtocols = [alpn]
        configuration.certificateVerification = .noHostnameVerification
        return configuration
    }

    /// The agent side: presents the agent certificate and verifies the server's name and CA.
    public static func makeAgentConfiguration(
        _ material: MeshTLSMaterial,
        alpn: [String] = [alpn]
    ) throws
        -> TLSConfiguration
    {
        let (chain, key, roots) = try load(material)
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateChain = chain.map { .certificate($0) }
        configuration.privateKey = .privateKey(key)
        configuration.trustRoots = .certificates(roots)
        configuration.certificateVerification = .fullVerification
        configuration.applicationProtocols = alpn
        return configuration
    }

    static func load(_ material: MeshTLSMaterial) throws -> ([NIOSSLCertificate], NIOSSLPrivateKey, [NIOSSLCertificate])
    {
        let chain: [NIOSSLCertificate]
        let roots: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(try material.certificate.bytes(what: "certificate"))
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(
                code: .invalidCertificate,
                message: "certificate \(describe(material.certificate)) is not valid PEM",
                cause: error
            )
        }
        do {
            roots = try NIOSSLCertificate.fromPEMBytes(try material.trustRoots.bytes(what: "CA certificate"))
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(
                code: .invalidCertificate,
                message: "CA bundle \(describe(material.trustRoots)) is not valid PEM",
                cause: error
            )
        }
        if case .file(let path) = material.privateKey { try KeyFilePermissions.check(path, what: "private key") }
        do {
            key = try NIOSSLPrivateKey(bytes: try material.privateKey.bytes(what: "private key"), format: .pem)
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(
                code: .invalidKey,
                message: "private key \(describe(material.privateKey)) is not a valid PEM key",
                cause: error
            )
        }
        guard !chain.isEmpty else {
            throw PKIError(
                code: .invalidCertificate,
                message: "no certificate found in \(describe(material.certificate))"
            )
        }
        guard !roots.isEmpty else {
            throw PKIError(
                code: .invalidCertificate,
                message: "no CA certificate found in \(describe(material.trustRoots))"
            )
        }
        return (chain, key, roots)
    }

    private static func describe(_ source: PEMSource) -> String {
        switch source {
        case .file(let path): path
        case .pem: "(in-memory PEM)"
        }
    }
}
