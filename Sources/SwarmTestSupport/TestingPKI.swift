import Crypto
import Foundation
// why: TestingPKI hands out SwarmPKI material to tests.
public import SwarmPKI
import SwiftASN1
// why: device(usage:) takes an X509 extended key usage.
public import X509

/// A fresh swarm CA per test, with helpers for the certificate shapes the tests need
/// (good agents, expired, from another CA). Nothing is written to `certs/`.
public struct TestingPKI: Sendable {
    public let ca: CertificateAuthority
    public let server: CertificateAuthority.Issued

    public init() throws {
        ca = try CertificateAuthority(commonName: "test swarm CA \(UUID().uuidString.prefix(8))")
        server = try ca.issueServer(validity: .seconds(3600))
    }

    public var serverMaterial: MeshTLSMaterial {
        MeshTLSMaterial(
            certificate: .pem(server.certificatePEM),
            privateKey: .pem(server.privateKeyPEM),
            trustRoots: .pem(ca.certificatePEM)
        )
    }

    /// A valid agent certificate (1 hour).
    public func agent(_ name: String) throws -> CertificateAuthority.Issued {
        try ca.issueAgent(name, validity: .seconds(3600))
    }

    /// An agent certificate that expired an hour ago.
    public func expiredAgent(_ name: String) throws -> CertificateAuthority.Issued {
        try ca.issueAgent(name, validity: .seconds(60), notValidBefore: Date().addingTimeInterval(-7200))
    }

    /// A gNMI device certificate from this CA with IP and DNS SANs; `expired` ended an hour ago.
    public func device(
        ipAddresses: [String] = ["127.0.0.1"],
        dnsNames: [String] = ["router1.lab.example"],
        expired: Bool = false,
        usage: ExtendedKeyUsage.Usage = .serverAuth
    ) throws -> CertificateAuthority.Issued {
        var sans: [GeneralName] = dnsNames.map { .dnsName($0) }
        for address in ipAddresses {
            var v4 = in_addr()
            if inet_pton(AF_INET, address, &v4) == 1 {
                let bytes = withUnsafeBytes(of: &v4) { Array($0) }
                sans.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
            }
        }
        return try ca.issue(
            commonName: dnsNames.first ?? "device",
            sans: sans,
            usage: usage,
            validity: .seconds(expired ? 60 : 3600),
            notValidBefore: expired ? Date().addingTimeInterval(-7200) : nil
        )
    }

    /// A client certificate for a collector (agent) from this CA.
    public func collector(_ name: String = "collector") throws -> CertificateAuthority.Issued {
        try ca.issue(commonName: name, sans: [], usage: .clientAuth, validity: .seconds(3600))
    }

    /// A self-signed device certificate (its own issuer, SAN 127.0.0.1), as devices make on first boot.
    public static func selfSigned(
        _ commonName: String = "router-selfsigned"
    ) throws -> (
        certificatePEM: String, privateKeyPEM: String
    ) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let loopback: [UInt8] = [127, 0, 0, 1]
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: Date().addingTimeInterval(-300),
            notValidAfter: Date().addingTimeInterval(3600),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.ipAddress(ASN1OctetString(contentBytes: loopback[...]))])
            },
            issuerPrivateKey: .init(key)
        )
        return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
    }

    /// TLS material for an agent with `issued`, trusting this CA.
    public func material(_ issued: CertificateAuthority.Issued) -> MeshTLSMaterial {
        MeshTLSMaterial(
            certificate: .pem(issued.certificatePEM),
            privateKey: .pem(issued.privateKeyPEM),
            trustRoots: .pem(ca.certificatePEM)
        )
    }
}
