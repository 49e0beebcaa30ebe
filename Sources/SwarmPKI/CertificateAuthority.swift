import Crypto
// why: Date appears in the issuing API (validity start).
public import Foundation
import SwarmCore
import SwiftASN1
// why: issued material is returned as SwarmCore-free value types holding PEM text.
public import X509

/// A swarm CA in memory that issues server, agent and client certificates (P-256).
///
/// Used by `streamswarm dev` to provision development certificates, by tests (a fresh CA per test)
/// and by the mesh benchmark. Production CAs come from `scripts/provision-certs.sh`.
public struct CertificateAuthority: Sendable {
    /// A certificate and its private key, PEM.
    public struct Issued: Sendable, Hashable {
        public var certificatePEM: String
        public var privateKeyPEM: String
        /// Lowercase hex, no leading zeros.
        public var serial: String
    }

    public let certificate: Certificate
    public let certificatePEM: String
    private let key: P256.Signing.PrivateKey

    public var privateKeyPEM: String { key.pemRepresentation }

    /// Creates a new self-signed CA.
    public init(commonName: String = "StreamSwarm CA", validity: Duration = .seconds(10 * 365 * 86_400)) throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        do {
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300),
                notValidAfter: now.addingTimeInterval(validity.seconds),
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: .init(key.publicKey))
                },
                issuerPrivateKey: .init(key)
            )
            self.certificate = certificate
            self.certificatePEM = try certificate.serializeAsPEM().pemString
            self.key = key
        } catch {
            throw PKIError(code: .issuance, message: "could not create CA \(commonName)", cause: error)
        }
    }

    /// Loads an existing CA from PEM.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        do {
            self.certificate = try Certificate(pemEncoded: certificatePEM)
            self.key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
            self.certificatePEM = certificatePEM
        } catch {
            throw PKIError(code: .invalidKey, message: "CA certificate or key is not P-256 PEM", cause: error)
        }
    }

    /// A server certificate with DNS and IP SANs.
    public func issueServer(
        commonName: String = "streamswarm-server",
        dnsNames: [String] = ["localhost"],
        ipAddresses: [String] = ["127.0.0.1", "::1"],
        validity: Duration = .seconds(825 * 86_400)
    ) throws -> Issued {
        var sans: [GeneralName] = dnsNames.map { .dnsName($0) }
        for address in ipAddresses {
            if let bytes = Self.ipBytes(address) { sans.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...]))) }
        }
        return try issue(commonName: commonName, sans: sans, usage: .serverAuth, validity: validity)
    }

    /// An agent certificate: CN = name, URI SAN `streamswarm://agent/<name>`.
    public func issueAgent(
        _ name: String,
        validity: Duration = .seconds(825 * 86_400),
        notValidBefore: Date? = nil
    ) throws -> Issued {
        try issue(
            commonName: name,
            sans: [.uniformResourceIdentifier(PeerIdentity.agentURIPrefix + name)],
            usage: .clientAuth,
            validity: validity,
            notValidBefore: notValidBefore
        )
    }

    /// Any leaf certificate; tests use it for odd shapes (no URI SAN, mismatched names).
    public func issue(
        commonName: String,
        sans: [GeneralName],
        usage: ExtendedKeyUsage.Usage,
        validity: Duration,
        notValidBefore: Date? = nil
    ) throws -> Issued {
        let leafKey = P256.Signing.PrivateKey()
        let start = notValidBefore ?? Date().addingTimeInterval(-300)
        let serial = Certificate.SerialNumber()
        do {
            let certificate = try Certificate(
                version: .v3,
                serialNumber: serial,
                publicKey: .init(leafKey.publicKey),
                notValidBefore: start,
                notValidAfter: start.addingTimeInterval(validity.seconds),
                issuer: self.certificate.subject,
                subject: try DistinguishedName { CommonName(commonName) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([usage])
                    if !sans.isEmpty { SubjectAlternativeNames(sans) }
                },
                issuerPrivateKey: .init(key)
            )
            return Issued(
                certificatePEM: try certificate.serializeAsPEM().pemString,
                privateKeyPEM: leafKey.pemRepresentation,
                serial: PeerIdentity.serialHex(serial.bytes)
            )
        } catch {
            throw PKIError(code: .issuance, message: "could not issue a certificate for \(commonName)", cause: error)
        }
    }

    static func ipBytes(_ address: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
