import Foundation
import Logging
import ServiceLifecycle
import SwarmCore
import SwarmPKI
import SwarmStore
import Synchronization

/// `dev --c-agent PATH`: the C agent (Sources/swarm-agent-c) runs as agent `c-agent` beside the
/// Swift agent `local`. Its certificate comes from the development CA on first use, a system and
/// an icmp test are made for it once, and the process starts with dev mode and gets SIGTERM (so it
/// says Goodbye) when dev mode stops. Its log lines ("swarm-agent-c: …") go to dev mode's stderr.
struct DevCAgent: Service {
    static let name = "c-agent"

    let binary: String
    let data: String
    let meshPort: Int
    let logger: Logger

    /// Checks the binary and issues the certificate if it is missing; throws saying what to do.
    static func prepare(binary: String, certs: String, logger: Logger) throws {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw DevCAgentError(
                "--c-agent \(binary): no executable there. Build the C agent with scripts/c-agent.sh build "
                    + "(it writes .build-c/release/swarm-agent-c), or run scripts/dev.sh --with-c-agent"
            )
        }
        let certificate = "\(certs)/agents/\(name).pem"
        if FileManager.default.fileExists(atPath: certificate) { return }
        let authority = try CertificateAuthority(
            certificatePEM: String(contentsOfFile: "\(certs)/ca.pem", encoding: .utf8),
            privateKeyPEM: String(contentsOfFile: "\(certs)/ca.key", encoding: .utf8)
        )
        let issued = try authority.issueAgent(name)
        try DevelopmentCertificates.write(issued.certificatePEM, to: certificate, mode: 0o644)
        try DevelopmentCertificates.write(issued.privateKeyPEM, to: "\(certs)/agents/\(name).key", mode: 0o600)
        logger.info("issued the development certificate of agent '\(name)' (\(certificate)) for the C agent")
    }

    /// A system test and an icmp test for the C agent, made once (by name).
    static func ensureTests(store: any Store, logger: Logger) async throws {
        guard let agent = AgentName(name) else { return }
        let existing = Set(try await store.tests().map(\.spec.name))
        let system = TestSpec(name: "c-agent system", probes: [.system], schedule: .init(interval: .seconds(10)))
        let ping = TestSpec(
            name: "c-agent ping 127.0.0.1",
            probes: [.icmp],
            target: .init(host: "127.0.0.1"),
            schedule: .init(interval: .seconds(10), count: 5)
        )
        for spec in [system, ping] where !existing.contains(spec.name) {
            let test = try await store.createTest(spec, agents: [agent])
            logger.info("created test \(test.id) '\(spec.name)' for the C agent")
        }
    }

    func run() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        let certs = "\(data)/certs"
        process.arguments = [
            "--server", "127.0.0.1:\(meshPort)", "--server-name", "localhost", "--ca", "\(certs)/ca.pem",
            "--cert", "\(certs)/agents/\(Self.name).pem", "--key", "\(certs)/agents/\(Self.name).key",
            "--spool", "\(data)/agent-c-spool",
        ]
        let exited = AsyncStream<Int32> { continuation in
            process.terminationHandler = { finished in
                continuation.yield(finished.terminationStatus)
                continuation.finish()
            }
        }
        try process.run()
        let pid = process.processIdentifier
        logger.info("started the C agent \(binary) (pid \(pid)) as agent '\(Self.name)'")
        let stopping = Atomic(false)
        await withGracefulShutdownHandler {
            for await status in exited {
                if stopping.load(ordering: .relaxed) {
                    logger.info("the C agent stopped (exit status \(status))")
                } else {
                    // Dev mode goes on without it: the Swift agent and the UI still work.
                    logger.error(
                        "the C agent exited with status \(status); dev mode goes on without it (its log is above)"
                    )
                }
            }
        } onGracefulShutdown: {
            stopping.store(true, ordering: .relaxed)
            guard process.isRunning else { return }
            kill(pid, SIGTERM)
            // It says Goodbye and exits within its 2 s drain; one that does not is killed.
            Task {
                try? await Task.sleep(for: .seconds(5))
                if process.isRunning {
                    logger.warning("the C agent did not stop within 5 s of SIGTERM; killing it")
                    kill(pid, SIGKILL)
                }
            }
        }
    }
}

struct DevCAgentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
