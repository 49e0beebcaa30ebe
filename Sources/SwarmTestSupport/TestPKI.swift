import Foundation
// why: TestPKI hands out SwarmPKI material to tests.
public import SwarmPKI
import X509

/// A fresh swarm CA per test, with helpers for the certificate shapes the tests need
/// (good agents, expired, from another CA). Nothing is written to `certs/`.
public struct TestPKI: Sendable {
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

    /// TLS material for an agent with `issued`, trusting this CA.
    public func material(_ issued: CertificateAuthority.Issued) -> MeshTLSMaterial {
        MeshTLSMaterial(
            certificate: .pem(issued.certificatePEM),
            privateKey: .pem(issued.privateKeyPEM),
            trustRoots: .pem(ca.certificatePEM)
        )
    }
}
