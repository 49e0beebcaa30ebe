import Foundation
// why: identities are built from NIOSSL certificates and name SwarmCore agents.
public import NIOSSL
public import SwarmCore
import SwiftASN1
import X509

/// Who is on the other end of a mesh connection, read from its verified client certificate.
///
/// The identity is the subject CN and must agree with the URI SAN `streamswarm://agent/<name>`;
/// it is never taken from a payload field.
public struct PeerIdentity: Sendable, Hashable {
    public var agent: AgentName
    /// The certificate serial, lowercase hex without leading zeros (as revoked.txt lists it).
    public var serial: String
    public var notValidAfter: Timestamp

    public static let agentURIPrefix = "streamswarm://agent/"

    public init(agent: AgentName, serial: String, notValidAfter: Timestamp) {
        self.agent = agent
        self.serial = serial
        self.notValidAfter = notValidAfter
    }

    /// Reads the identity from a peer certificate that TLS has already verified against the CA.
    ///
    /// - Throws: ``PKIError`` `.missingIdentity` or `.inconsistentIdentity`.
    public init(certificate: NIOSSLCertificate) throws {
        let parsed: Certificate
        do {
            parsed = try Certificate(derEncoded: try certificate.toDERBytes())
        } catch {
            throw PKIError(code: .invalidCertificate, message: "peer certificate does not parse as X.509", cause: error)
        }
        try self.init(certificate: parsed)
    }

    init(certificate: Certificate) throws {
        var commonName: String?
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                commonName = String(attribute.value)
            }
        }
        var uriNames: [String] = []
        if let sans = try? certificate.extensions.subjectAlternativeNames {
            for name in sans {
                if case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix(Self.agentURIPrefix) {
                    uriNames.append(String(uri.dropFirst(Self.agentURIPrefix.count)))
                }
            }
        }
        let serial = Self.serialHex(certificate.serialNumber.bytes)
        guard let cn = commonName, let name = AgentName(cn) else {
            throw PKIError(
                code: .missingIdentity,
                message: "client certificate \(serial) has no valid agent name in its subject CN: "
                    + "issue agent certificates with 'scripts/provision-certs.sh agent NAME'"
            )
        }
        guard let uriName = uriNames.first else {
            throw PKIError(
                code: .missingIdentity,
                message: "client certificate for \(cn) lacks the URI SAN \(Self.agentURIPrefix)\(cn): "
                    + "re-issue it with 'scripts/provision-certs.sh agent \(cn) --force'"
            )
        }
        guard uriNames.allSatisfy({ $0 == cn }) else {
            throw PKIError(
                code: .inconsistentIdentity,
                message: "client certificate CN \(cn) disagrees with its URI SAN \(Self.agentURIPrefix)\(uriName)"
            )
        }
        let notAfter = certificate.notValidAfter.timeIntervalSince1970
        self.init(agent: name, serial: serial, notValidAfter: Timestamp(unixNanos: Int64(notAfter * 1e9)))
    }

    /// Lowercase hex without leading zeros: the form the provisioning script writes.
    public static func serialHex<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let hex = bytes.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        let trimmed = hex.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }
}
