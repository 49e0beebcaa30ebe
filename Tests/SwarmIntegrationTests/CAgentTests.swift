import Foundation
import NIOCore
import NIOPosix
import SwarmCore
import SwarmProto
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import SwiftProtobuf
import Testing

/// The C agent (Sources/swarm-agent-c, built under the sanitizers by `scripts/c-agent.sh test`)
/// against the real `streamswarm server`: mutual TLS with GnuTLS, Hello and Welcome, heartbeats on
/// the server's interval, a test it cannot run refused with a reason, tcp and icmp results, the
/// system probe spooled and delivered through a server crash with every sequence stored once,
/// Goodbye on SIGTERM; revocation; a spool older than the server renumbered; hostile frames.
@Suite(.timeLimit(.minutes(2))) struct CAgentTests {
    @Test(
        "the C agent: mutual TLS, heartbeats, refuses what it cannot run, tcp and icmp, system measurements through a server kill -9 with none lost, Goodbye"
    )
    func session() async throws {
        try await CAgentSwarm.with { swarm in
            let store = swarm.store
            let name = swarm.name
            var server = try swarm.startServer()
            defer { server.kill() }
            let agent = try swarm.startAgent()
            var stopped = false
            defer { if !stopped { agent.kill() } }

            let online = try await eventually(timeout: .seconds(30)) { try await swarm.online() }
            #expect(online, "the C agent never came online; its log:\n\(swarm.log("agent"))")
            #expect(try await store.agent(name)?.agentVersion == "0.1.0-c")
            // Three heartbeat intervals of silence would close it: 2.5 s later it is the same session.
            let session = try await store.agent(name)?.sessionID
            try await Task.sleep(for: .milliseconds(2500))
            #expect(try await swarm.online(), "offline despite heartbeats; agent log:\n\(swarm.log("agent"))")
            #expect(try await store.agent(name)?.sessionID == session)

            // A test it cannot run is refused, saying why.
            let web = try await swarm.createTest("web", .http, host: "127.0.0.1", port: 9)
            let refused = await eventually(timeout: .seconds(10)) {
                swarm.log("server").contains("rejected test \(web)")
                    && swarm.log("server").contains("PROBE_KIND_HTTP is not supported by the C agent")
            }
            #expect(refused, "no refusal in the server log:\n\(swarm.log("server"))")

            // tcp to a loopback listener: connect times; to a closed port: refused, saying so. icmp
            // to 127.0.0.1: the host allows no datagram socket (ping_group_range), so raw, as root.
            let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in channel.close() }
                .bind(host: "127.0.0.1", port: 0).get()
            defer { listener.close(promise: nil) }
            let openPort = try #require(listener.localAddress?.port)
            let connects = try await swarm.createTest("tcp open", .tcp, host: "127.0.0.1", port: openPort)
            let refusals = try await swarm.createTest(
                "tcp closed",
                .tcp,
                host: "127.0.0.1",
                port: try await freeLoopbackPort()
            )
            var icmpOptions = TestSpec.Options()
            icmpOptions.icmp.packetInterval = .milliseconds(20)
            let pings = try await swarm.createTest(
                "ping",
                .icmp,
                host: "127.0.0.1",
                interval: .milliseconds(300),
                count: 3,
                options: icmpOptions
            )
            let probed = [connects, refusals, pings]
            func rows(_ test: TestID) async throws -> [MeasurementRecord] {
                try await store.measurements(test: test, agent: name, range: .all, limit: .max)
            }
            let measured = try await eventually(timeout: .seconds(15)) {
                for test in probed where try await rows(test).count < 3 { return false }
                return true
            }
            #expect(measured, "too few tcp/icmp results from the C agent; its log:\n\(swarm.log("agent"))")
            let connected = try await rows(connects)
            #expect(connected.allSatisfy { $0.status == .ok && ($0.value ?? 0) > 0 }, "\(connected)")
            let refusedRuns = try await rows(refusals)
            #expect(refusedRuns.allSatisfy { $0.status == .failed && $0.reason.contains("refused") }, "\(refusedRuns)")
            for row in try await rows(pings) {
                #expect(row.status == .ok && (row.value ?? 0) > 0, "\(row)")
                let icmp = try Streamswarm_Mesh_V1_IcmpResult(serializedBytes: row.payload)
                #expect(icmp.socketMode == "raw" && icmp.sent == 3 && icmp.received == 3, "\(icmp)")
                #expect(icmp.rttsUs.count == 3 && icmp.rtt.hasP50Us && icmp.replyTtl == 64, "\(icmp)")
            }
            for test in probed { _ = try await store.cancelTest(test) }

            // A system test runs: measurements arrive, through a kill -9 and restart of the server.
            let system = try await swarm.createTest("host", .system)
            let arriving = try await eventually(timeout: .seconds(15)) { try await swarm.sequences(system).count >= 5 }
            #expect(arriving, "no system measurements from the C agent; its log:\n\(swarm.log("agent"))")
            server.kill()
            try await Task.sleep(for: .milliseconds(800))  // measuring on while no server is there
            server = try swarm.startServer()
            let before = try await swarm.sequences(system).count
            let resumed = try await eventually(timeout: .seconds(20)) {
                try await swarm.sequences(system).count >= before + 8
            }
            #expect(resumed, "the C agent did not deliver after the server restarted; its log:\n\(swarm.log("agent"))")
            _ = try await store.cancelTest(system)
            var last = -1
            let quiet = try await eventually(timeout: .seconds(20), every: .milliseconds(1000)) {
                let count = try await swarm.sequences(system).count
                defer { last = count }
                return count == last
            }
            #expect(quiet, "measurements kept arriving after the cancel")
            var sequences = try await swarm.sequences(system)
            for test in probed { sequences += try await swarm.sequences(test) }
            sequences.sort()
            // Nothing lost and nothing twice: the agent's sequences (all its tests) are 1...n without a gap.
            #expect(sequences == Array(1...UInt64(sequences.count)), "gaps or duplicates: \(sequences)")
            #expect(sequences.count >= 22)

            // SIGTERM: Goodbye, a clean exit, and the server marks it offline at once.
            agent.stop()
            stopped = true
            let offline = try await eventually(timeout: .seconds(5)) { try await swarm.online() == false }
            #expect(offline, "still online after the C agent stopped")
            #expect(swarm.log("server").contains("agent said Goodbye"), "\(swarm.log("server"))")
            #expect(swarm.agentIsClean, "\(swarm.log("agent"))")
        }
    }

    @Test("revoking the C agent closes its session; it is refused with REVOKED on every reconnect and keeps running")
    func revocation() async throws {
        try await CAgentSwarm.with { swarm in
            let server = try swarm.startServer()
            defer { server.kill() }
            let agent = try swarm.startAgent()
            defer { agent.kill() }
            let online = try await eventually(timeout: .seconds(30)) { try await swarm.online() }
            #expect(online, "the C agent never came online; its log:\n\(swarm.log("agent"))")
            _ = try await swarm.store.revokeAgent(swarm.name, at: .now())
            let closed = await eventually(timeout: .seconds(15)) {
                swarm.log("server").contains("agent c-agent was revoked; closing its session")
            }
            #expect(closed, "\(swarm.log("server"))")
            let offline = try await eventually(timeout: .seconds(10)) { try await swarm.online() == false }
            #expect(offline, "still online after the revocation")
            let refused = await eventually(timeout: .seconds(15)) {
                swarm.log("agent").components(separatedBy: "the server reported CODE_REVOKED (fatal)").count > 2
            }
            #expect(refused, "no REVOKED refusals on reconnect; agent log:\n\(swarm.log("agent"))")
            #expect(try await swarm.online() == false)
            #expect(agent.exitStatusIfExited() == nil, "the C agent exited:\n\(swarm.log("agent"))")
            #expect(swarm.agentIsClean, "\(swarm.log("agent"))")
        }
    }

    @Test(
        "a spool older than the server (its batch in flight has an id the server stored with other measurements): BATCH_ID_REUSED, renumbered, stored once"
    )
    func batchIDReused() async throws {
        try await CAgentSwarm.with { swarm in
            let server = try swarm.startServer()
            defer { server.kill() }
            var agent = try swarm.startAgent()
            defer { agent.kill() }
            let system = try await swarm.createTest("host", .system)
            let arrived = try await eventually(timeout: .seconds(30)) { try await swarm.sequences(system).count >= 3 }
            #expect(arrived, "no system measurements; agent log:\n\(swarm.log("agent"))")
            agent.stop()

            // "Restore a backup": a spool whose batch 1 is in flight, carrying a measurement the
            // server never saw (sequence 1000). Batch 1 is stored with others: the id is reused.
            let spool = "\(swarm.dir)/restored"
            try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
            var measurement = Streamswarm_Mesh_V1_Measurement()
            measurement.testID = system.rawValue
            measurement.revision = 1
            measurement.sequence = 1000
            measurement.kind = .system
            measurement.status = .ok
            measurement.startedUnixNanos = Timestamp.now().unixNanos
            measurement.system = Streamswarm_Mesh_V1_SystemResult()
            let bytes: [UInt8] = try measurement.serializedBytes()
            let length = UInt32(bytes.count)
            let record =
                [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
                + bytes
            try Data(record).write(to: URL(fileURLWithPath: "\(spool)/spool.bin"))
            // acked offset, next sequence, last batch id, batch in flight, its end (spool.h)
            try "0 1001 1 1 \(record.count)\n".write(toFile: "\(spool)/state", atomically: true, encoding: .utf8)

            agent = try swarm.startAgent(spool: spool)
            let stored = try await eventually(timeout: .seconds(20)) {
                try await swarm.sequences(system).contains(1000)
            }
            #expect(stored, "the restored measurement never arrived; agent log:\n\(swarm.log("agent"))")
            #expect(swarm.log("agent").contains("CODE_BATCH_ID_REUSED"), "\(swarm.log("agent"))")
            #expect(swarm.log("agent").contains("batch 1 renumbered"), "\(swarm.log("agent"))")
            let sequences = try await swarm.sequences(system)
            #expect(sequences.filter { $0 == 1000 }.count == 1)
            #expect(Set(sequences).count == sequences.count, "stored twice: \(sequences)")
            #expect(swarm.agentIsClean, "\(swarm.log("agent"))")
        }
    }

    @Test(
        "hostile frames from a server (oversized length, unknown flags, garbage) close the session; the C agent reconnects, never crashes"
    )
    func hostileServer() async throws {
        try await CAgentSwarm.with { swarm in
            let certs = swarm.certs
            let port = swarm.port
            let agent = try swarm.startAgent()
            defer { agent.kill() }
            func log() -> String { swarm.log("agent") }
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
