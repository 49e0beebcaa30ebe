import Foundation
import Logging
import NIOCore
import NIOPosix
import SwarmAgent
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// The real binaries under steady ingest, killed with SIGKILL at random moments: what the agents
/// spooled must end up stored, each measurement exactly once.
@Suite(.timeLimit(.minutes(3))) struct ChaosTests {
    /// The log lines about batches, acks and sessions, to explain a loss.
    func batchLogLines(dir: String, names: [String]) -> String {
        names.flatMap { name in
            ((try? String(contentsOfFile: "\(dir)/\(name).log", encoding: .utf8)) ?? "")
                .split(separator: "\n")
                .filter { $0.contains("batch") || $0.contains("refused") || $0.contains("error") }
                .suffix(60)
                .map { "\(name): \($0)" }
        }.joined(separator: "\n")
    }

    @Test("20+ kill -9 of the server and agents under ingest: nothing lost, nothing stored twice")
    func killNineUnderIngest() async throws {
        let binary = try ProductBinary.require()
        try await withTemporaryDirectory { dir in
            let certs = "\(dir)/certs"
            let agents = ["chaos-1", "chaos-2"]
            try ProvisionScript.swarm(dir: certs, agents: agents)

            // A loopback listener the tcp probes connect to, many times a second.
            let target = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in channel.close() }
                .bind(host: "127.0.0.1", port: 0).get()
            defer { target.close(promise: nil) }
            let targetPort = try #require(target.localAddress?.port)
            let db = "\(dir)/swarm.sqlite"
            let store = try SQLiteStore(configuration: .init(path: db), logger: Logger(label: "chaos.store"))
            let names = try agents.map { try #require(AgentName($0)) }
            // Three tests at the 100 ms minimum: about 30 measurements a second per agent.
            var tests: [TestRecord] = []
            for n in 0..<3 {
                tests.append(
                    try await store.createTest(
                        TestSpec(
                            name: "chaos \(n)",
                            probes: [.tcp],
                            target: .init(host: "127.0.0.1", port: targetPort),
                            schedule: .init(
                                interval: .milliseconds(100),
                                timeout: .seconds(1),
                                randomStartOffset: false
                            )
                        ),
                        agents: names
                    )
                )
            }

            let port = try await freeLoopbackPort()
            // Each process appends its log (notice and up) to its own file, read back on a failure.
            func log(_ name: String) -> Int32 { open("\(dir)/\(name).log", O_WRONLY | O_CREAT | O_APPEND, 0o600) }
            func startServer() throws -> ChildProcess {
                let fd = log("server")
                defer { close(fd) }
                return try ChildProcess.spawn(
                    binary,
                    [
                        "server", "--listen", "127.0.0.1:\(port)", "--db", db, "--http", "",
                        "--ca", "\(certs)/ca.pem", "--cert", "\(certs)/server.pem", "--key", "\(certs)/server.key",
                        "--revoked", "\(certs)/revoked.txt", "--heartbeat-interval", "1s", "--log-level", "notice",
                        "--responder-udp-port", "0", "--responder-bandwidth-port", "0",
                    ],
                    standardError: fd
                )
            }
            func startAgent(_ name: String) throws -> ChildProcess {
                let fd = log(name)
                defer { close(fd) }
                return try ChildProcess.spawn(
                    binary,
                    [
                        "agent", "--server", "127.0.0.1:\(port)", "--server-name", "localhost",
                        "--ca", "\(certs)/ca.pem", "--cert", "\(certs)/agents/\(name).pem",
                        "--key", "\(certs)/agents/\(name).key", "--spool", "\(dir)/\(name).spool",
                        "--responder-udp-port", "0", "--responder-bandwidth-port", "0",
                        "--reconnect-cap", "500ms", "--log-level", "notice",
                    ],
                    standardError: fd
                )
            }
            var processes: [String: ChildProcess] = ["server": try startServer()]
            for name in agents { processes[name] = try startAgent(name) }
            defer { for process in processes.values { process.kill() } }

            func stored() async throws -> Int { try await store.measurementCount(test: nil) }
            #expect(try await eventually(timeout: .seconds(30)) { try await stored() > 50 }, "ingest never started")

            // When: 24 kills, each of the server or one agent, at random moments under ingest.
            var kills: [String] = []
            for _ in 0..<24 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 150...600)))
                let victim = (["server"] + agents).randomElement() ?? "server"
                processes[victim]?.kill()
                kills.append(victim)
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...250)))
                processes[victim] = victim == "server" ? try startServer() : try startAgent(victim)
            }
            #expect(kills.filter { $0 == "server" }.count >= 3, "\(kills)")

            // Then: stop measuring, let the spools drain, and compare what was spooled with what is stored.
            for test in tests { _ = try await store.cancelTest(test.id) }
            // Drained means empty spools and no new sequence numbers for 1.5 s (15 intervals of the tests).
            let drained = try await spoolsDrained(agents.map { "\(dir)/\($0).spool" }, timeout: .seconds(90))
            #expect(drained, "the spools did not drain and go quiet after the tests were cancelled")
            var total = 0
            for (name, agent) in zip(agents, names) {
                let produced = try await Spool(path: "\(dir)/\(name).spool").sequenceRange()
                var sequences: [UInt64] = []
                for test in tests {
                    sequences += try await store.measurements(test: test.id, agent: agent, range: .all, limit: .max)
                        .map(\.sequence)
                }
                #expect(sequences.count == Set(sequences).count, "\(name): a measurement was stored twice")
                let lost = Set(produced).subtracting(sequences).sorted()
                let foreign = Set(sequences).subtracting(produced).sorted()
                #expect(
                    lost.isEmpty && foreign.isEmpty,
                    """
                    \(name): stored \(sequences.count) of \(produced.count) spooled; lost \(lost), not spooled \(foreign)
                    batch lines of the logs:
                    \(batchLogLines(dir: dir, names: ["server", name]))
                    """
                )
                total += sequences.count
            }
            #expect(total > 200, "too little ingest to mean anything: \(total)")
            print(
                "chaos: \(kills.count) kill -9 (server \(kills.filter { $0 == "server" }.count), agents "
                    + "\(kills.filter { $0 != "server" }.count)); \(total) measurements spooled, all stored once"
            )
        }
    }
}
