import Foundation
import Logging
import NIOCore
import NIOPosix
import SwarmAgent
import SwarmCore
import SwarmGateway
import SwarmStore
import SwarmStorePostgres
import SwarmTestSupport
import Testing

/// Two real `streamswarm server` processes (mesh and gateway each) on one PostgreSQL database,
/// agents spread over both: a test made through either gateway reaches its agents wherever their
/// sessions are; one server is killed with SIGKILL under ingest, its agents move to the other, and
/// every measurement the agents spooled is stored exactly once.
@Suite(.timeLimit(.minutes(3))) struct TwoServerTests {
    /// A signed-in gateway caller: the session cookie and the CSRF token.
    struct Operator {
        var port: Int
        var headers: [String: String]

        static func signIn(port: Int, username: String, password: String) async throws -> Operator {
            let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
            let response = try await LoopbackHTTP.request(
                port: port,
                method: "POST",
                path: "/api/v1/auth/login",
                body: body
            )
            guard response.status == 200,
                let cookie = response.header("set-cookie")?.split(separator: ";").first,
                let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any],
                let csrf = json["csrfToken"] as? String
            else {
                throw FixtureError(
                    "sign-in on gateway :\(port) failed: \(response.status) \(String(decoding: response.body, as: UTF8.self))"
                )
            }
            return Operator(port: port, headers: ["Cookie": String(cookie), "X-CSRF-Token": csrf])
        }

        /// Creates a tcp test at 100 ms on `agents` through this gateway; returns its id.
        func createTest(name: String, targetPort: Int, agents: [String]) async throws -> TestID {
            let spec: [String: Any] = [
                "name": name,
                "probes": [["kind": "PROBE_KIND_TCP"]],
                "target": ["host": "127.0.0.1", "port": targetPort],
                "schedule": ["intervalMs": 100, "timeoutMs": 1000, "count": 1],
            ]
            let body = try JSONSerialization.data(withJSONObject: ["spec": spec, "agents": agents])
            let response = try await LoopbackHTTP.request(
                port: port,
                method: "POST",
                path: "/api/v1/tests",
                body: body,
                headers: headers
            )
            guard response.status == 201,
                let json = try JSONSerialization.jsonObject(with: response.body) as? [String: Any],
                let id = json["id"] as? Int
            else {
                throw FixtureError(
                    "creating \(name) on gateway :\(port) failed: \(response.status) \(String(decoding: response.body, as: UTF8.self))"
                )
            }
            return TestID(Int64(id))
        }
    }

    @Test("two servers on one PostgreSQL: tests from either gateway reach every agent; kill -9 of one loses nothing")
    func twoServersOneDatabase() async throws {
        let binary = try ProductBinary.require()
        let adminURL = try PostgresTestEnvironment.requireURL()
        try await withTemporaryDirectory { dir in
            try await withPostgresDatabase(adminURL: adminURL) { database, _ in
                let url =
                    "postgres://\(database.username):\(database.password ?? "")@\(database.host):\(database.port)/"
                    + "\(database.database)?sslmode=disable"
                let store = PostgresStore(configuration: database, logger: Logger(label: "two-servers.store"))
                let certs = "\(dir)/certs"
                // Agents 1 and 2 dial A first, 3 and 4 dial B first.
                let agents = ["spread-1", "spread-2", "spread-3", "spread-4"]
                try ProvisionScript.swarm(dir: certs, agents: agents)
                // One more agent knows only server A and has no tests: when A dies, nobody holds its
                // session, and server B must mark it offline (its server stopped reporting).
                let stranded = "stranded"
                try ProvisionScript.run(["agent", stranded], dir: certs)
                let names = try agents.map { try #require(AgentName($0)) }
                let password = "two servers, one swarm"
                try await store.createUser(
                    UserRecord(
                        username: "ops",
                        passwordHash: try await PasswordHasher(cost: 4).hash(password),
                        role: .operator
                    )
                )

                let target = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .childChannelInitializer { channel in channel.close() }
                    .bind(host: "127.0.0.1", port: 0).get()
                defer { target.close(promise: nil) }
                let targetPort = try #require(target.localAddress?.port)

                let mesh = (a: try await freeLoopbackPort(), b: try await freeLoopbackPort())
                let http = (a: try await freeLoopbackPort(), b: try await freeLoopbackPort())
                func log(_ name: String) -> Int32 { open("\(dir)/\(name).log", O_WRONLY | O_CREAT | O_APPEND, 0o600) }
                func startServer(_ name: String, mesh: Int, http: Int) throws -> ChildProcess {
                    let fd = log(name)
                    defer { close(fd) }
                    return try ChildProcess.spawn(
                        binary,
                        [
                            "server", "--listen", "127.0.0.1:\(mesh)", "--db", url, "--http", "127.0.0.1:\(http)",
                            "--ca", "\(certs)/ca.pem", "--cert", "\(certs)/server.pem", "--key", "\(certs)/server.key",
                            "--revoked", "\(certs)/revoked.txt", "--heartbeat-interval", "1s", "--log-level", "notice",
                            // Two servers on one host: their responders would want the same ports.
                            "--responder-udp-port", "0", "--responder-bandwidth-port", "0",
                        ],
                        standardError: fd
                    )
                }
                func startAgent(_ name: String, servers: [Int]) throws -> ChildProcess {
                    let fd = log(name)
                    defer { close(fd) }
                    return try ChildProcess.spawn(
                        binary,
                        [
                            "agent", "--server", servers.map { "127.0.0.1:\($0)" }.joined(separator: ","),
                            "--server-name", "localhost", "--ca", "\(certs)/ca.pem",
                            "--cert", "\(certs)/agents/\(name).pem", "--key", "\(certs)/agents/\(name).key",
                            "--spool", "\(dir)/\(name).spool", "--responder-udp-port", "0",
                            "--responder-bandwidth-port", "0", "--reconnect-cap", "500ms", "--log-level", "notice",
                        ],
                        standardError: fd
                    )
                }
                var serverA: ChildProcess? = try startServer("server-a", mesh: mesh.a, http: http.a)
                let serverB = try startServer("server-b", mesh: mesh.b, http: http.b)
                var processes = [serverB]
                defer {
                    serverA?.kill()
                    for process in processes { process.kill() }
                }
                processes.append(try startAgent(stranded, servers: [mesh.a]))
                for (index, name) in agents.enumerated() {
                    processes.append(try startAgent(name, servers: index < 2 ? [mesh.a, mesh.b] : [mesh.b, mesh.a]))
                }
                let online = try await eventually(timeout: .seconds(30)) {
                    try await store.agents().filter(\.online).count == agents.count + 1
                }
                #expect(online, "not every agent came online")

                // A test through each gateway, each for all four agents: whichever server holds an
                // agent's session hears of the test through the database's change feed.
                // The gateways listen once their servers have started: sign in when they answer.
                func signIn(_ port: Int) async throws -> Operator {
                    var signedIn: Operator?
                    _ = await eventually(timeout: .seconds(20)) {
                        signedIn = try? await Operator.signIn(port: port, username: "ops", password: password)
                        return signedIn != nil
                    }
                    if let signedIn { return signedIn }
                    return try await Operator.signIn(port: port, username: "ops", password: password)
                }
                let opsA = try await signIn(http.a)
                let opsB = try await signIn(http.b)
                // Both report ready: PostgreSQL answers and their mesh listeners are up.
                for port in [http.a, http.b] {
                    let ready = try await LoopbackHTTP.request(port: port, method: "GET", path: "/readyz", body: nil)
                    let text = String(decoding: ready.body, as: UTF8.self)
                    #expect(
                        ready.status == 200 && text.contains("\"mesh\":\"ok\"") && text.contains("\"store\":\"ok\""),
                        "\(text)"
                    )
                }
                let tests = [
                    try await opsA.createTest(name: "through A", targetPort: targetPort, agents: agents),
                    try await opsB.createTest(name: "through B", targetPort: targetPort, agents: agents),
                ]
                func count(_ test: TestID, _ agent: AgentName) async throws -> Int {
                    try await store.measurements(test: test, agent: agent, range: .all, limit: .max).count
                }
                let everywhere = try await eventually(timeout: .seconds(30)) {
                    for test in tests {
                        for agent in names where try await count(test, agent) < 15 { return false }
                    }
                    return true
                }
                #expect(everywhere, "a test made through one gateway did not run on every agent")

                // kill -9 of server A under ingest: its agents go to B and keep delivering.
                var before: [AgentName: Int] = [:]
                for agent in names.prefix(2) { before[agent] = try await count(tests[0], agent) }
                serverA?.kill()
                serverA = nil
                let moved = try await eventually(timeout: .seconds(30)) {
                    for agent in names.prefix(2) where try await count(tests[0], agent) < (before[agent] ?? 0) + 20 {
                        return false
                    }
                    return true
                }
                #expect(moved, "the agents of the killed server did not resume on the other")
                // Server B sees A's reports stop (5 s interval, 20 s timeout) and marks its agent offline.
                let strandedName = try #require(AgentName(stranded))
                let markedOffline = try await eventually(timeout: .seconds(45), every: .milliseconds(500)) {
                    try await store.agent(strandedName)?.online == false
                }
                #expect(markedOffline, "the agent of the dead server was left online")
                let said = try await store.events(limit: 50, includingAccounts: false)
                    .contains { $0.subject == stranded && $0.message.contains("stopped reporting") }
                #expect(said, "no event says why the agent went offline")

                // Stop measuring, let the spools drain, compare what each agent spooled with what is stored.
                for test in tests { _ = try await store.cancelTest(test) }
                let drained = try await spoolsDrained(agents.map { "\(dir)/\($0).spool" }, timeout: .seconds(60))
                #expect(drained, "the spools did not drain and go quiet after the tests were cancelled")
                var total = 0
                for (name, agent) in zip(agents, names) {
                    let produced = try await Spool(path: "\(dir)/\(name).spool").sequenceRange()
                    var sequences: [UInt64] = []
                    for test in tests {
                        sequences += try await store.measurements(test: test, agent: agent, range: .all, limit: .max)
                            .map(\.sequence)
                    }
                    #expect(sequences.count == Set(sequences).count, "\(name): a measurement was stored twice")
                    let lost = Set(produced).subtracting(sequences).count
                    let foreign = Set(sequences).subtracting(produced).count
                    #expect(
                        lost == 0 && foreign == 0,
                        "\(name): stored \(sequences.count) of \(produced.count) spooled; \(lost) lost, \(foreign) not spooled"
                    )
                    total += sequences.count
                }
                #expect(total > 200, "too little ingest to mean anything: \(total)")
                print(
                    "two servers: \(agents.count) agents, server A killed under ingest; \(total) measurements, all stored once"
                )
            }
        }
    }
}
