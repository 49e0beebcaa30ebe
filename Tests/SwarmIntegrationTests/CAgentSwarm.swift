import Foundation
import Logging
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// A throwaway swarm for the C agent's tests: certificates (the server and agent `c-agent`), an
/// SQLite store the test reads, and a `streamswarm server` on a free loopback port. Logs of the
/// processes go to `DIR/NAME.log`.
struct CAgentSwarm {
    static let agentBinary = "\(Repository.root)/.build-c/asan/swarm-agent-c"

    let dir: String
    let certs: String
    let db: String
    let port: Int
    let store: SQLiteStore
    let name: AgentName

    /// Runs `body` with a fresh swarm (no process started yet); records an issue when the C agent
    /// was not built.
    static func with(_ body: (CAgentSwarm) async throws -> Void) async throws {
        guard FileManager.default.isExecutableFile(atPath: agentBinary) else {
            Issue.record("\(agentBinary) is missing: run scripts/c-agent.sh test (scripts/test.sh does) first")
            return
        }
        try await withTemporaryDirectory { dir in
            let certs = "\(dir)/certs"
            try ProvisionScript.swarm(dir: certs, agents: ["c-agent"])
            let db = "\(dir)/swarm.sqlite"
            let swarm = CAgentSwarm(
                dir: dir,
                certs: certs,
                db: db,
                port: try await freeLoopbackPort(),
                store: try SQLiteStore(configuration: .init(path: db), logger: Logger(label: "c-agent.store")),
                name: try #require(AgentName("c-agent"))
            )
            try await body(swarm)
        }
    }

    private func appending(to file: String) -> Int32 {
        open("\(dir)/\(file).log", O_WRONLY | O_CREAT | O_APPEND, 0o600)
    }

    func startServer() throws -> ChildProcess {
        let log = appending(to: "server")
        defer { close(log) }
        return try ChildProcess.spawn(
            try ProductBinary.require(),
            [
                "server", "--listen", "127.0.0.1:\(port)", "--db", db, "--http", "",
                "--ca", "\(certs)/ca.pem", "--cert", "\(certs)/server.pem", "--key", "\(certs)/server.key",
                "--revoked", "\(certs)/revoked.txt", "--heartbeat-interval", "500ms", "--log-level", "info",
                "--responder-udp-port", "0", "--responder-bandwidth-port", "0",
            ],
            standardError: log
        )
    }

    /// The C agent with the certificate of `c-agent`, dialling the server, spooling into `spool`.
    func startAgent(spool: String? = nil, port: Int? = nil) throws -> ChildProcess {
        let log = appending(to: "agent")
        defer { close(log) }
        return try ChildProcess.spawn(
            Self.agentBinary,
            [
                "--server", "127.0.0.1:\(port ?? self.port)", "--server-name", "localhost", "--ca", "\(certs)/ca.pem",
                "--cert", "\(certs)/agents/c-agent.pem", "--key", "\(certs)/agents/c-agent.key",
                "--reconnect-cap-ms", "200", "--spool", spool ?? "\(dir)/spool",
            ],
            standardError: log
        )
    }

    func log(_ file: String) -> String {
        (try? String(contentsOfFile: "\(dir)/\(file).log", encoding: .utf8)) ?? ""
    }

    /// Neither sanitizer reported anything in the agent's log.
    var agentIsClean: Bool {
        let text = log("agent")
        return !text.contains("AddressSanitizer") && !text.contains("runtime error")
    }

    func online() async throws -> Bool { try await store.agent(name)?.online == true }

    /// A test of `probes` assigned to the C agent, every `interval`.
    func createTest(
        _ name: String,
        _ probe: ProbeKind,
        host: String = "",
        port: Int = 0,
        interval: Duration = .milliseconds(200),
        count: Int = 1,
        options: TestSpec.Options = .init()
    ) async throws -> TestID {
        try await store.createTest(
            TestSpec(
                name: name,
                probes: [probe],
                target: .init(host: host, port: port),
                schedule: .init(interval: interval, count: count, timeout: .seconds(1), randomStartOffset: false),
                options: options
            ),
            agents: [self.name]
        ).id
    }

    func sequences(_ test: TestID) async throws -> [UInt64] {
        try await store.measurements(test: test, agent: name, range: .all, limit: .max).map(\.sequence)
    }
}
