import Foundation
import Logging
import NIOCore
import NIOPosix
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// The C agent (Sources/swarm-agent-c, built under the sanitizers by `scripts/c-agent.sh test`)
/// against the real `streamswarm server`: mutual TLS with GnuTLS, Hello and Welcome, heartbeats on
/// the server's interval, a test it cannot run refused with a reason, the system probe spooled and
/// delivered through a server crash with every sequence stored once, Goodbye on SIGTERM.
@Suite(.timeLimit(.minutes(2))) struct CAgentTests {
    static let agentBinary = "\(Repository.root)/.build-c/asan/swarm-agent-c"

    /// The C agent with the certificate of `c-agent` in `certs`, dialling 127.0.0.1:`port`; its
    /// stderr goes to `log`.
    func startAgent(certs: String, port: Int, spool: String, log: String) throws -> ChildProcess {
        let fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        defer { close(fd) }
        return try ChildProcess.spawn(
            Self.agentBinary,
            [
                "--server", "127.0.0.1:\(port)", "--server-name", "localhost", "--ca", "\(certs)/ca.pem",
                "--cert", "\(certs)/agents/c-agent.pem", "--key", "\(certs)/agents/c-agent.key",
                "--reconnect-cap-ms", "200", "--spool", spool,
            ],
            standardError: fd
        )
    }

    @Test(
        "the C agent: mutual TLS, heartbeats, refuses what it cannot run, system measurements through a server kill -9 with none lost, Goodbye"
    )
    func session() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.agentBinary) else {
            Issue.record("\(Self.agentBinary) is missing: run scripts/c-agent.sh test (scripts/test.sh does) first")
            return
        }
        let binary = try ProductBinary.require()
        try await withTemporaryDirectory { dir in
            let certs = "\(dir)/certs"
            try ProvisionScript.swarm(dir: certs, agents: ["c-agent"])
            let db = "\(dir)/swarm.sqlite"
            let store = try SQLiteStore(configuration: .init(path: db), logger: Logger(label: "c-agent.store"))
            let name = try #require(AgentName("c-agent"))
            let port = try await freeLoopbackPort()
            func log(_ file: String) -> Int32 { open("\(dir)/\(file).log", O_WRONLY | O_CREAT | O_APPEND, 0o600) }
            func startServer() throws -> ChildProcess {
                let serverLog = log("server")
                defer { close(serverLog) }
                return try ChildProcess.spawn(
                    binary,
                    [
                        "server", "--listen", "127.0.0.1:\(port)", "--db", db, "--http", "",
                        "--ca", "\(certs)/ca.pem", "--cert", "\(certs)/server.pem", "--key", "\(certs)/server.key",
                        "--revoked", "\(certs)/revoked.txt", "--heartbeat-interval", "500ms", "--log-level", "info",
                        "--responder-udp-port", "0", "--responder-bandwidth-port", "0",
                    ],
                    standardError: serverLog
                )
            }
            var server = try startServer()
            defer { server.kill() }
            let agent = try startAgent(certs: certs, port: port, spool: "\(dir)/spool", log: "\(dir)/agent.log")
            var stopped = false
            defer { if !stopped { agent.kill() } }
            func text(_ file: String) -> String {
                (try? String(contentsOfFile: "\(dir)/\(file).log", encoding: .utf8)) ?? ""
            }

            let online = try await eventually(timeout: .seconds(30)) { try await store.agent(name)?.online == true }
            #expect(online, "the C agent never came online; its log:\n\(text("agent"))")
            #expect(try await store.agent(name)?.agentVersion == "0.1.0-c")
            // Three heartbeat intervals of silence would close it: 2.5 s later it is the same session.
            let session = try await store.agent(name)?.sessionID
            try await Task.sleep(for: .milliseconds(2500))
            #expect(
                try await store.agent(name)?.online == true,
                "offline despite heartbeats; agent log:\n\(text("agent"))"
            )
            #expect(try await store.agent(name)?.sessionID == session)

            // A test it cannot run (this version runs no probes) is refused, saying why.
            let test = try await store.createTest(
                TestSpec(name: "web", probes: [.http], target: .init(host: "127.0.0.1", port: 9)),
                agents: [name]
            )
            let refused = await eventually(timeout: .seconds(10)) {
                text("server").contains("rejected test \(test.id)")
                    && text("server").contains("not supported by the C agent")
            }
            #expect(refused, "no refusal in the server log:\n\(text("server"))")

            // A tcp test to a loopback listener: connect times; one to a closed port: refused, saying so.
            let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in channel.close() }
                .bind(host: "127.0.0.1", port: 0).get()
            defer { listener.close(promise: nil) }
            let openPort = try #require(listener.localAddress?.port)
            let closed = try await freeLoopbackPort()
            var tcpTests: [TestID] = []
            for target in [openPort, closed] {
                tcpTests.append(
                    try await store.createTest(
                        TestSpec(
                            name: "tcp \(target)",
                            probes: [.tcp],
                            target: .init(host: "127.0.0.1", port: target),
                            schedule: .init(
                                interval: .milliseconds(200),
                                timeout: .seconds(1),
                                randomStartOffset: false
                            )
                        ),
                        agents: [name]
                    ).id
                )
            }
            func rows(_ test: TestID) async throws -> [MeasurementRecord] {
                try await store.measurements(test: test, agent: name, range: .all, limit: .max)
            }
            let measured = try await eventually(timeout: .seconds(15)) {
                let connects = try await rows(tcpTests[0]).count
                let refusals = try await rows(tcpTests[1]).count
                return connects >= 3 && refusals >= 3
            }
            #expect(measured, "no tcp results from the C agent; its log:\n\(text("agent"))")
            let connected = try await rows(tcpTests[0])
            #expect(connected.allSatisfy { $0.status == .ok && ($0.value ?? 0) > 0 }, "\(connected)")
            let refusedRuns = try await rows(tcpTests[1])
            #expect(refusedRuns.allSatisfy { $0.status == .failed && $0.reason.contains("refused") }, "\(refusedRuns)")
            for test in tcpTests { _ = try await store.cancelTest(test) }

            // A system test runs: measurements arrive, through a kill -9 and restart of the server.
            let system = try await store.createTest(
                TestSpec(
                    name: "host",
                    probes: [.system],
                    schedule: .init(interval: .milliseconds(200), timeout: .seconds(1), randomStartOffset: false)
                ),
                agents: [name]
            )
            func stored() async throws -> [UInt64] {
                try await store.measurements(test: system.id, agent: name, range: .all, limit: .max).map(\.sequence)
            }
            let arriving = try await eventually(timeout: .seconds(15)) { try await stored().count >= 5 }
            #expect(arriving, "no system measurements from the C agent; its log:\n\(text("agent"))")
            server.kill()
            try await Task.sleep(for: .milliseconds(800))  // measuring on while no server is there
            server = try startServer()
            let before = try await stored().count
            let resumed = try await eventually(timeout: .seconds(20)) { try await stored().count >= before + 8 }
            #expect(resumed, "the C agent did not deliver after the server restarted; its log:\n\(text("agent"))")
            _ = try await store.cancelTest(system.id)
            var last = -1
            let quiet = try await eventually(timeout: .seconds(20), every: .milliseconds(1000)) {
                let count = try await stored().count
                defer { last = count }
                return count == last
            }
            #expect(quiet, "measurements kept arriving after the cancel")
            var sequences = try await stored()
            for test in tcpTests { sequences += try await rows(test).map(\.sequence) }
            sequences.sort()
            // Nothing lost and nothing twice: the agent's sequences (all its tests) are 1...n without a gap.
            #expect(sequences == Array(1...UInt64(sequences.count)), "gaps or duplicates: \(sequences)")
            #expect(sequences.count >= 19)

            // SIGTERM: Goodbye, a clean exit, and the server marks it offline at once.
            agent.stop()
            stopped = true
            let offline = try await eventually(timeout: .seconds(5)) { try await store.agent(name)?.online == false }
            #expect(offline, "still online after the C agent stopped")
            #expect(
                text("server").contains("agent said Goodbye"),
                "\(text("server"))"
            )
            #expect(!text("agent").contains("ERROR: AddressSanitizer") && !text("agent").contains("runtime error"))
        }
    }

    @Test(
        "hostile frames from a server (oversized length, unknown flags, garbage) close the session; the C agent reconnects, never crashes"
    )
    func hostileServer() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.agentBinary) else {
            Issue.record("\(Self.agentBinary) is missing: run scripts/c-agent.sh test (scripts/test.sh does) first")
            return
        }
        try await withTemporaryDirectory { dir in
            let certs = "\(dir)/certs"
            try ProvisionScript.swarm(dir: certs, agents: ["c-agent"])
            let port = try await freeLoopbackPort()
            let agent = try startAgent(certs: certs, port: port, spool: "\(dir)/spool", log: "\(dir)/agent.log")
            defer { agent.kill() }
            func log() -> String { (try? String(contentsOfFile: "\(dir)/agent.log", encoding: .utf8)) ?? "" }
            // A TLS server that speaks the transport (ALPN, the swarm CA) and then sends `bytes`:
            // openssl s_server, one connection, what it reads on stdin goes to the agent.
            let hostile: [(bytes: [UInt8], says: String)] = [
                ([0x00, 0x7f, 0xff, 0xff, 0xff], "frame length exceeds the limit"),
                ([0x01, 0x00, 0x00, 0x00, 0x02, 0x08, 0x01], "frame flags set"),
                ([0x00, 0x00, 0x00, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff], "does not decode"),
            ]
            for (bytes, says) in hostile {
                let server = Process()
                server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
                server.arguments = [
                    "s_server", "-quiet", "-naccept", "1", "-accept", "127.0.0.1:\(port)", "-cert",
                    "\(certs)/server.pem", "-key", "\(certs)/server.key", "-CAfile", "\(certs)/ca.pem",
                    "-Verify", "1", "-alpn", "streamswarm/1", "-tls1_3",
                ]
                let input = Pipe()
                server.standardInput = input
                server.standardOutput = FileHandle.nullDevice
                server.standardError = FileHandle.nullDevice
                try server.run()
                defer { if server.isRunning { server.terminate() } }
                // The agent retries every 200 ms at most: it connects within a second or two.
                try await Task.sleep(for: .milliseconds(1500))
                input.fileHandleForWriting.write(Data(bytes))
                let closed = await eventually(timeout: .seconds(10)) { log().contains(says) }
                #expect(closed, "the agent did not refuse \(bytes): its log:\n\(log())")
                try? input.fileHandleForWriting.close()
                server.waitUntilExit()
                #expect(agent.exitStatusIfExited() == nil, "the C agent died on \(bytes):\n\(log())")
            }
            #expect(log().components(separatedBy: "reconnecting in").count > 3, "no reconnects: \(log())")
            #expect(!log().contains("AddressSanitizer") && !log().contains("runtime error"), "\(log())")
        }
    }
}
