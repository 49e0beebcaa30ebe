import Crypto
import Foundation
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import NIOSSL
import SwarmCore
import SwiftASN1
import Synchronization
import X509

/// TLS for one device connection: the client certificate when the auth method needs one, and our
/// own verification of the device certificate so a failure names its cause (expired, unknown CA,
/// name mismatch, pinned certificate changed) instead of BoringSSL's "certificate verify failed".
/// TLS 1.2 is the minimum (the transport sets it) and there is no plaintext fallback.
final class DeviceTrust: Sendable {
    private let connection: GNMIConnection
    private let roots: CertificateStore
    private let pinnedDER: [UInt8]?
    private let finding = Mutex<GNMIFailure?>(nil)
    private let sawCertificate = Mutex(false)

    init(_ connection: GNMIConnection) throws(GNMIFailure) {
        self.connection = connection
        if connection.pinnedCertificatePEM.isEmpty {
            pinnedDER = nil
        } else {
            do {
                let pinned = try Certificate(pemEncoded: connection.pinnedCertificatePEM)
                var serializer = DER.Serializer()
                try serializer.serialize(pinned)
                pinnedDER = serializer.serializedBytes
            } catch {
                throw GNMIFailure(
                    .badConfiguration,
                    "the pinned device certificate is not a PEM certificate (\(error)); paste the device's PEM certificate"
                )
            }
        }
        if connection.caCertificatePEM.isEmpty {
            roots = CertificateStore.systemTrustRoots
        } else {
            do {
                roots = CertificateStore(try Self.certificates(inPEM: connection.caCertificatePEM))
            } catch {
                throw GNMIFailure(.badConfiguration, "the device CA is not a PEM certificate bundle (\(error))")
            }
        }
    }

    /// What the last handshake's verification found, if it refused the device.
    var failure: GNMIFailure? { finding.withLock { $0 } }
    /// Whether the device presented any certificate (a plaintext device never gets that far).
    var presentedCertificate: Bool { sawCertificate.withLock { $0 } }

    /// The name the device certificate must carry.
    var expectedName: String { connection.serverName.isEmpty ? connection.address : connection.serverName }

    func transportSecurity(logger: Logger) throws(GNMIFailure) -> HTTP2ClientTransport.Posix.TransportSecurity {
        var tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS.defaults
        if connection.auth.needsCertificate {
            guard !connection.clientCertificatePEM.isEmpty, !connection.clientKeyPEM.isEmpty else {
                throw GNMIFailure(
                    .badConfiguration,
                    "auth \(connection.auth.rawValue) needs a client certificate and key; add them to the device"
                )
            }
            tls.certificateChain = [.bytes(Array(connection.clientCertificatePEM.utf8), format: .pem)]
            tls.privateKey = .bytes(Array(connection.clientKeyPEM.utf8), format: .pem)
        }
        tls.serverCertificateVerification = .fullVerification
        // Our callback verifies against `roots` (loaded once per process); BoringSSL's own store is
        // unused, so it stays empty instead of parsing the system bundle into every connection.
        tls.trustRoots = .certificates([])
        tls.customVerificationCallback = { [self] certificates, promise in
            sawCertificate.withLock { $0 = true }
            Task {
                let failure = await self.verify(certificates)
                self.finding.withLock { $0 = failure }
                promise.succeed(failure == nil ? .certificateVerified(VerificationMetadata(nil)) : .failed)
            }
        }
        if pinnedDER != nil {
            logger.warning(
                "trusting the pinned self-signed certificate of \(connection.label) instead of a CA (operator choice)"
            )
        }
        return .tls(tls)
    }

    /// Nil when the device is trusted; otherwise the specific reason.
    func verify(_ presented: [NIOSSLCertificate]) async -> GNMIFailure? {
        let chain: [Certificate]
        do {
            chain = try presented.map { try Certificate(derEncoded: try $0.toDERBytes()) }
        } catch {
            return GNMIFailure(.deviceError, "the device sent a certificate that cannot be parsed (\(error))")
        }
        guard let leaf = chain.first else { return GNMIFailure(.deviceError, "the device sent no certificate") }
        let now = Date()
        if let pinnedDER {
            var serializer = DER.Serializer()
            let leafDER = (try? serializer.serialize(leaf)).map { serializer.serializedBytes } ?? []
            if leafDER == pinnedDER { return nil }
            return GNMIFailure(
                .pinnedCertificateMismatch,
                "\(connection.label) presented a certificate (sha256 \(Self.fingerprint(leafDER))) that is not the pinned one "
                    + "(sha256 \(Self.fingerprint(pinnedDER))); if the device was re-keyed on purpose, pin its new certificate"
            )
        }
        if now > leaf.notValidAfter {
            return GNMIFailure(
                .certificateExpired,
                "\(connection.label) presented a certificate (\(leaf.subject)) that expired on "
                    + "\(Timestamp(leaf.notValidAfter)); renew the device certificate"
            )
        }
        if now < leaf.notValidBefore {
            return GNMIFailure(
                .certificateNotYetValid,
                "\(connection.label) presented a certificate that is valid only from \(Timestamp(leaf.notValidBefore)); "
                    + "check the clocks of the device and this agent"
            )
        }
        var chainVerifier = Verifier(rootCertificates: roots) { RFC5280Policy() }
        let intermediates = CertificateStore(chain.dropFirst())
        if case .couldNotValidate = await chainVerifier.validate(leaf: leaf, intermediates: intermediates) {
            let source =
                connection.caCertificatePEM.isEmpty ? "the system trust store" : "the device CA configured for it"
            return GNMIFailure(
                .unknownCA,
                "\(connection.label) presented a certificate issued by \(leaf.issuer), which does not chain to \(source); "
                    + "set the device's CA certificate (or pin the device certificate if it is self-signed)"
            )
        }
        // RFC 5280: without the extension any use is allowed; with it, it must allow a TLS server.
        // (A client certificate presented by a device must not pass for the device's identity.)
        if let usages = try? leaf.extensions.extendedKeyUsage,
            !usages.contains(.serverAuth), !usages.contains(.any)
        {
            return GNMIFailure(
                .certificateNotForServers,
                "\(connection.label) presented a certificate (\(leaf.subject)) whose extended key usage does not allow "
                    + "TLS server authentication (\(usages.map { "\($0)" }.joined(separator: ", "))); "
                    + "reissue it with serverAuth"
            )
        }
        let name = expectedName
        let isAddress = IPAddressText.isAddress(name)
        var identityVerifier = Verifier(rootCertificates: roots) {
            RFC5280Policy()
            ServerIdentityPolicy(serverHostname: isAddress ? nil : name, serverIP: isAddress ? name : nil)
        }
        if case .couldNotValidate = await identityVerifier.validate(leaf: leaf, intermediates: intermediates) {
            let names = Self.subjectAlternativeNames(leaf)
            return GNMIFailure(
                .certificateNameMismatch,
                "\(connection.label) presented a certificate for \(names.isEmpty ? "no names" : names.joined(separator: ", ")), "
                    + "not \(name); set the device's server name to one of those, or reissue its certificate with \(name)"
            )
        }
        return nil
    }

    static func certificates(inPEM text: String) throws -> [Certificate] {
        let documents = try PEMDocument.parseMultiple(pemString: text)
        return try documents.map { try Certificate(pemDocument: $0) }
    }

    static func fingerprint(_ der: [UInt8]) -> String {
        SHA256.hash(data: der).prefix(8).map { String(format: "%02x", $0) }.joined() + "…"
    }

    static func subjectAlternativeNames(_ certificate: Certificate) -> [String] {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { name in
            switch name {
            case .dnsName(let dns): return dns
            case .ipAddress(let octets): return IPAddressText.format(Array(octets.bytes))
            default: return nil
            }
        }
    }
}

/// Textual IP addresses, without resolving anything.
enum IPAddressText {
    static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    static func format(_ bytes: [UInt8]) -> String? {
        let family = bytes.count == 4 ? AF_INET : (bytes.count == 16 ? AF_INET6 : -1)
        guard family != -1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }
}

extension Timestamp {
    init(_ date: Date) { self.init(unixNanos: Int64(date.timeIntervalSince1970 * 1e9)) }
}
