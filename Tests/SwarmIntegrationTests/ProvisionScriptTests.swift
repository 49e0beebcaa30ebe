import Foundation
import SwarmCore
import SwarmPKI
import SwarmServer
import SwarmStoreSQLite
import SwarmTestSupport
import SwarmWire
import Testing

/// `scripts/provision-certs.sh` (openssl) makes certificates our server and agent accept, and its
/// `revoke` is honoured by a running server.
@Suite(.timeLimit(.minutes(1))) struct ProvisionScriptTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/provision-certs.sh").path

    @discardableResult
    func provision(_ arguments: [String], dir: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script] + arguments + ["--dir", dir]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("script-issued certificates open a mesh session; a second init refuses; revoke is honoured live")
    func scriptCertificates() async throws {
        try await withTemporaryDirectory { dir in
            let certs = "\(dir)/certs"
            try FileManager.default.createDirectory(atPath: certs, withIntermediateDirectories: true)
            #expect(try provision(["init"], dir: certs).status == 0)
            let again = try provision(["init"], dir: certs)
            #expect(again.status != 0 && again.output.contains("--force"))
            #expect(try provision(["server"], dir: certs).status == 0)
            #expect(try provision(["agent", "edge-1"], dir: certs).status == 0)
            #expect(try provision(["agent", "bad/name"], dir: certs).status != 0)
            let keyMode =
                try FileManager.default.attributesOfItem(atPath: "\(certs)/agents/edge-1.key")[.posixPermissions]
                as? Int
            #expect(keyMode == 0o600)

            let store = try makeTestStore(in: dir)
            let serverTLS = MeshTLSMaterial(
                certificate: .file("\(certs)/server.pem"),
                privateKey: .file("\(certs)/server.key"),
                trustRoots: .file("\(certs)/ca.pem")
            )
            let agentTLS = try MeshTLS.makeAgentConfiguration(
                MeshTLSMaterial(
                    certificate: .file("\(certs)/agents/edge-1.pem"),
                    privateKey: .file("\(certs)/agents/edge-1.key"),
                    trustRoots: .file("\(certs)/ca.pem")
                )
            )
            try await withMeshServer(
                material: serverTLS,
                store: store,
                configure: {
                    $0.revocationListPath = "\(certs)/revoked.txt"
                    $0.revocationReloadInterval = .milliseconds(50)
                }
            ) { _, port in
                guard
                    case .welcome(let welcome) = await
                        (try await SimulatedMeshClient.connect(port: port, tls: agentTLS))
                        .hello().0
                else {
                    Issue.record("script-issued agent certificate was refused")
                    return
                }
                #expect(welcome.agentName == "edge-1")
                #expect(try provision(["revoke", "edge-1"], dir: certs).status == 0)
                try await Task.sleep(for: .milliseconds(300))
                guard
                    case .refused(let error) = await (try await SimulatedMeshClient.connect(port: port, tls: agentTLS))
                        .hello().0
                else {
                    Issue.record("revoked agent was admitted")
                    return
                }
                #expect(error.code == .revoked)
            }
        }
    }

    /// The certificate's serial as openssl prints it (upper-case hex; the list normalises it).
    func serial(ofPEMFile path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["x509", "-in", path, "-noout", "-serial"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "serial=", with: "")
    }

    @Test("revoke NAME revokes every serial ever issued to the name, the ones replaced with --force too")
    func revokeEveryIssuedSerial() async throws {
        try await withTemporaryDirectory { dir in
            let certs = "\(dir)/certs"
            try FileManager.default.createDirectory(atPath: certs, withIntermediateDirectories: true)
            #expect(try provision(["init"], dir: certs).status == 0)
            #expect(try provision(["agent", "edge-2"], dir: certs).status == 0)
            let first = try serial(ofPEMFile: "\(certs)/agents/edge-2.pem")
            #expect(try provision(["agent", "edge-2", "--force"], dir: certs).status == 0)
            let second = try serial(ofPEMFile: "\(certs)/agents/edge-2.pem")
            #expect(first != second)
            #expect(try provision(["revoke", "edge-2"], dir: certs).status == 0)
            let list = RevocationList(path: "\(certs)/revoked.txt")
            try list.reloadIfChanged()
            #expect(list.contains(serial: first), "the certificate replaced with --force must be revoked too")
            #expect(list.contains(serial: second))
            let again = try provision(["revoke", "edge-2"], dir: certs)
            #expect(again.status == 0 && again.output.contains("nothing to do"))
        }
    }
}
