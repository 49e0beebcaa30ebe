import Foundation
import NIOSSL
import SwarmCore
import SwarmPKI
import SwarmTestSupport
import Testing
import X509

@Suite struct PKITests {
    @Test("the agent identity comes from CN and the streamswarm URI SAN")
    func identity() throws {
        let pki = try TestingPKI()
        let issued = try pki.agent("edge-1")
        let certificate = try NIOSSLCertificate(bytes: Array(issued.certificatePEM.utf8), format: .pem)
        let identity = try PeerIdentity(certificate: certificate)
        #expect(identity.agent.rawValue == "edge-1")
        #expect(identity.serial == issued.serial)
    }

    @Test("a client certificate without the URI SAN is refused")
    func missingURI() throws {
        let pki = try TestingPKI()
        let issued = try pki.ca.issue(commonName: "edge-1", sans: [], usage: .clientAuth, validity: .seconds(600))
        let certificate = try NIOSSLCertificate(bytes: Array(issued.certificatePEM.utf8), format: .pem)
        let error = #expect(throws: PKIError.self) { try PeerIdentity(certificate: certificate) }
        #expect(error?.code == .missingIdentity)
    }

    @Test("CN and URI SAN naming different agents is refused")
    func inconsistent() throws {
        let pki = try TestingPKI()
        let issued = try pki.ca.issue(
            commonName: "edge-1",
            sans: [.uniformResourceIdentifier("streamswarm://agent/edge-2")],
            usage: .clientAuth,
            validity: .seconds(600)
        )
        let certificate = try NIOSSLCertificate(bytes: Array(issued.certificatePEM.utf8), format: .pem)
        let error = #expect(throws: PKIError.self) { try PeerIdentity(certificate: certificate) }
        #expect(error?.code == .inconsistentIdentity)
    }

    @Test("revocation lists ignore comments, colons, case and leading zeros, and reload on change")
    func revocationReload() async throws {
        try await withTemporaryDirectory { dir in
            let path = "\(dir)/revoked.txt"
            try "# header\n00:AB:cd # agent a\n".write(toFile: path, atomically: true, encoding: .utf8)
            let list = RevocationList(path: path)
            #expect(try list.reloadIfChanged() == ["abcd"])
            #expect(list.contains(serial: "ABCD") && list.contains(serial: "0abcd"))
            #expect(try list.reloadIfChanged().isEmpty)  // unchanged file: nothing new
            try await Task.sleep(for: .milliseconds(20))
            try "abcd\n0x1234\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try list.reloadIfChanged() == ["1234"])
            #expect(list.count == 2)
        }
    }

    @Test("a missing revocation list is an error at start, and a vanished one keeps its serials")
    func missingRevocationList() async throws {
        try await withTemporaryDirectory { dir in
            let path = "\(dir)/revoked.txt"
            let typo = RevocationList(path: "\(dir)/revokd.txt")
            let error = #expect(throws: PKIError.self) { try typo.load() }
            #expect(error?.code == .unreadableFile)
            #expect(error?.message.contains("does not exist") == true)
            #expect(error?.message.contains("--revoked ''") == true)

            try "abcd\n".write(toFile: path, atomically: true, encoding: .utf8)
            let list = RevocationList(path: path)
            try list.load()
            try FileManager.default.removeItem(atPath: path)
            #expect(throws: PKIError.self) { try list.reloadIfChanged() }
            #expect(list.contains(serial: "abcd"))  // deleting the file revokes nothing less
        }
    }

    @Test("a private key or device key file others can read is refused with the chmod that fixes it")
    func worldReadableKeys() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let issued = try pki.agent("perm")
            let key = "\(dir)/agent.key"
            try issued.privateKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)
            let material = MeshTLSMaterial(
                certificate: .pem(issued.certificatePEM),
                privateKey: .file(key),
                trustRoots: .pem(pki.ca.certificatePEM)
            )
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key)
            let error = #expect(throws: PKIError.self) { try MeshTLS.makeAgentConfiguration(material) }
            #expect(error?.message.contains("chmod 600 \(key)") == true)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
            _ = try MeshTLS.makeAgentConfiguration(material)

            let vaultPath = "\(dir)/device.key"
            _ = try DeviceVault.createKeyFile(at: vaultPath)
            #expect(try DeviceVault.load(keyFile: vaultPath, environment: [:]) != nil)
            try FileManager.default.setAttributes([.posixPermissions: 0o604], ofItemAtPath: vaultPath)
            #expect(throws: PKIError.self) { try DeviceVault.load(keyFile: vaultPath, environment: [:]) }
        }
    }

    @Test("unreadable TLS material gives an error naming the file and what to do")
    func missingFile() throws {
        let material = MeshTLSMaterial(
            certificate: .file("/nonexistent/server.pem"),
            privateKey: .file("/nonexistent/server.key"),
            trustRoots: .file("/nonexistent/ca.pem")
        )
        let error = #expect(throws: PKIError.self) { try MeshTLS.makeServerConfiguration(material) }
        #expect(error?.code == .unreadableFile)
        #expect(error?.message.contains("/nonexistent/server.pem") == true)
    }

    @Test("the server configuration enforces TLS 1.3 (1.2 only when allowed), mutual auth and the mesh ALPN")
    func serverConfiguration() throws {
        let pki = try TestingPKI()
        let configuration = try MeshTLS.makeServerConfiguration(pki.serverMaterial)
        #expect(configuration.minimumTLSVersion == .tlsv13)
        #expect(try MeshTLS.makeServerConfiguration(pki.serverMaterial, allowTLS12: true).minimumTLSVersion == .tlsv12)
        #expect(configuration.applicationProtocols == ["streamswarm/1"])
        #expect(configuration.certificateVerification == .noHostnameVerification)
    }
}
