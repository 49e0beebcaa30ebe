import Foundation
import SwarmTestSupport
import Testing

/// Validates the impaired-network lab (`scripts/netlab.sh`) with Debian's reference tools
/// (iputils `ping` and `tracepath`, `iperf3`, `tcpdump`), so that later probe tests can trust
/// what the lab claims to do. Each test states its tolerance.
///
/// These are the only timing assertions in the test suite on purpose: they check the lab's
/// impairments, not our code's speed. The suite is serialized because delay precision on
/// a 2-core machine suffers when labs run side by side.
@Suite("Network lab validation", .serialized, .requiresNetLab)
struct LabValidationTests {
    @Test("10 ms each way gives a 20 ms round trip over IPv4 and IPv6, and R1 stays one hop", .timeLimit(.minutes(1)))
    func roundTripTime() async throws {
        try await NetLab.withLab(NetLabConfig(delayMs: 10)) { lab in
            for (family, target) in [("-4", lab.addresses.b), ("-6", lab.addresses.b6)] {
                // When: 50 pings, 50 ms apart.
                let output = try await lab.run(
                    .a,
                    ["ping", family, "-n", "-c", "50", "-i", "0.05", target],
                    timeout: .seconds(20)
                )
                let replies = PingReply.parse(output.stdout)

                // Then: every reply came back, the median RTT is within 1 ms of 2 × 10 ms.
                #expect(output.succeeded, "ping \(target): \(output.stderr)")
                #expect(replies.count == 50)
                let median = try #require(replies.map(\.rttMs).median)
                #expect(abs(median - 20) <= 1, "median RTT to \(target) is \(median) ms, expected 20 ± 1 ms")
                // B's replies cross R2 and R1. R1 forwards each packet twice (into and out of the
                // delay line), and the delay line gives back one TTL, so they arrive with 64 - 2.
                #expect(replies.allSatisfy { $0.ttl == 62 }, "reply TTLs \(Set(replies.map(\.ttl)))")
                Attachment.record(
                    "ping \(family) \(target): median \(median) ms, \(PingReply.summary(replies))",
                    named: "rtt\(family).txt"
                )
            }
            let status = try await lab.status()
            #expect(status["forward_drop_queue_full"] == "0")
            #expect(status["reverse_drop_queue_full"] == "0")
            Attachment.record(try await lab.statusText(), named: "rtt-status.txt")
        }
    }

    @Test("jitter spreads RTTs; --reorder reorders, the default keeps FIFO order", .timeLimit(.minutes(1)))
    func jitterAndReordering() async throws {
        for reorder in [true, false] {
            try await NetLab.withLab(NetLabConfig(delayMs: 10, jitterMs: 5, reorder: reorder)) { lab in
                // When: pings closer together than the RTT spread (±10 ms). iputils sends them
                // a few ms apart here (200 take ~1.5 s) rather than the 2 ms asked for.
                let output = try await lab.run(
                    .a,
                    ["ping", "-n", "-c", "200", "-i", "0.002", lab.addresses.b],
                    timeout: .seconds(30)
                )
                let replies = PingReply.parse(output.stdout)
                #expect(replies.count == 200, "\(output.stderr)")
                let rtts = replies.map(\.rttMs)
                let minimum = try #require(rtts.min())
                let deviation = try #require(rtts.standardDeviation)

                // Then: each direction is uniform in 10 ± 5 ms, so the RTT is 20 ± 10 ms with a
                // standard deviation of 5·√(2/3) ≈ 4.1 ms; we require more than 1 ms. No RTT may
                // be below 2 × 5 ms (the delay line can release at most ~0.1 ms early, and a sum
                // within 0.2 ms of the floor has probability ~2e-4 per packet).
                #expect(deviation > 1, "RTT standard deviation \(deviation) ms")
                #expect(minimum >= 10, "minimum RTT \(minimum) ms")

                // ping prints replies in arrival order: count sequence-number inversions.
                let inversions = zip(replies, replies.dropFirst()).filter { $1.seq < $0.seq }.count
                let status = try await lab.status()
                let reordered =
                    (Int(status["forward_reordered"] ?? "") ?? -1) + (Int(status["reverse_reordered"] ?? "") ?? -1)
                if reorder {
                    // 200 packets a few ms apart with ±5 ms jitter each way: 20-30 inversions seen.
                    #expect(inversions > 0, "no reply arrived out of order with --reorder")
                    #expect(reordered > 0, "the delay line reports no reordering")
                } else {
                    #expect(inversions == 0, "\(inversions) replies arrived out of order without --reorder")
                    #expect(reordered == 0, "the delay line reports \(reordered) reordered packets in FIFO mode")
                }
                Attachment.record(
                    "reorder=\(reorder): \(PingReply.summary(replies)), stdev \(deviation) ms, inversions \(inversions), delay line reordered \(reordered)",
                    named: "jitter-reorder-\(reorder).txt"
                )
            }
        }
    }

    @Test("200 per mille loss A→B lands in the 99.9% binomial interval; B→A stays clean", .timeLimit(.minutes(1)))
    func loss() async throws {
        try await NetLab.withLab(NetLabConfig(lossPermille: 200)) { lab in
            let sent = 400
            let output = try await lab.run(
                .a,
                ["ping", "-n", "-q", "-c", String(sent), "-i", "0.01", lab.addresses.b],
                timeout: .seconds(40)
            )
            let received = try #require(PingReply.receivedCount(output.stdout), "\(output.stdout)")

            // Then: the number received lies in the central 99.9% interval of Binomial(400, 0.8).
            let interval = binomialInterval(trials: sent, success: 0.8, confidence: 0.999)
            #expect(interval.contains(received), "received \(received)/\(sent), 99.9% interval \(interval)")

            // And: every loss happened at R1's A→B rule, so the reverse path stayed clean.
            let text = try await lab.statusText()
            let dropped = try #require(
                text.firstMatch(of: #/counter packets (\d+) bytes \d+ drop/#).flatMap { Int($0.1) },
                "no loss counter in status:\n\(text)"
            )
            #expect(dropped == sent - received, "R1 dropped \(dropped), ping lost \(sent - received)")
            Attachment.record(
                "received \(received)/\(sent) (interval \(interval)), R1 dropped \(dropped)",
                named: "loss.txt"
            )
        }
    }

    @Test("tracepath sees exactly R1, R2, B and a path MTU of 1400", .timeLimit(.minutes(1)))
    func hopsAndPathMTU() async throws {
        // A delay keeps the delay line in the path: its TTL fix-up is what keeps R1 one hop.
        try await NetLab.withLab(NetLabConfig(delayMs: 2, mtu: 1400)) { lab in
            let addresses = lab.addresses
            let cases = [
                ("-4", addresses.b, [addresses.r1, addresses.r2, addresses.b]),
                ("-6", addresses.b6, [addresses.r1v6, addresses.r2v6, addresses.b6]),
            ]
            for (family, target, expectedHops) in cases {
                let output = try await lab.run(.a, ["tracepath", family, "-n", target], timeout: .seconds(30))
                let trace = Tracepath(output.stdout)
                #expect(output.succeeded, "\(output.stdout)\(output.stderr)")
                #expect(trace.firstHop(of: expectedHops[0]) == 1, "\(output.stdout)")
                #expect(trace.firstHop(of: expectedHops[1]) == 2, "\(output.stdout)")
                #expect(trace.firstHop(of: expectedHops[2]) == 3, "\(output.stdout)")
                #expect(trace.responders == expectedHops, "\(output.stdout)")
                // "back 3": B's replies also took 3 hops, so the delay line gave back R1's extra TTL.
                #expect(trace.resume == .init(pmtu: 1400, hops: 3, back: 3), "\(output.stdout)")
                Attachment.record(output.stdout, named: "tracepath\(family).txt")
            }
        }
    }

    @Test("a 20 Mbit/s limit gives iperf3 20 Mbit/s ± 10%", .timeLimit(.minutes(1)))
    func rateLimit() async throws {
        try await NetLab.withLab(NetLabConfig(rateMbit: 20)) { lab in
            let server = try lab.spawn(.b, ["iperf3", "-s", "-1", "--forceflush"])
            do {
                let listening = await server.waitForOutput(containing: "Server listening")
                try #require(listening, "iperf3 server did not start: \(server.stdout)\(server.stderr)")
                let output = try await lab.run(
                    .a,
                    ["iperf3", "-c", lab.addresses.b, "-t", "3", "-J"],
                    timeout: .seconds(20)
                )
                #expect(output.succeeded, "\(output.stderr)")
                let result = try JSONDecoder().decode(IperfResult.self, from: Data(output.stdout.utf8))
                let mbit = result.end.sumReceived.bitsPerSecond / 1e6

                // tbf counts layer-2 bytes, iperf3 counts TCP payload (1448 of 1514 bytes per
                // frame), so about 19.1 Mbit/s is expected; the tolerance is 10%.
                #expect(abs(mbit - 20) <= 2, "receiver throughput \(mbit) Mbit/s, expected 20 ± 2")
                Attachment.record(
                    "receiver \(mbit) Mbit/s, sender \(result.end.sumSent.bitsPerSecond / 1e6) Mbit/s, retransmits \(result.end.sumSent.retransmits ?? -1)",
                    named: "rate.txt"
                )
            } catch {
                await server.terminate()
                throw error
            }
            await server.terminate()
        }
    }

    @Test("R2 remarks DSCP 46 to DSCP 8 toward B, IPv4 and IPv6", .timeLimit(.minutes(1)))
    func dscpRemarking() async throws {
        try await NetLab.withLab(NetLabConfig(dscpRemark: 8)) { lab in
            let cases = [
                ("-4", lab.addresses.b, "icmp[icmptype] == icmp-echo", "tos 0x20"),
                ("-6", lab.addresses.b6, "icmp6 and ip6[40] == 128", "class 0x20"),
            ]
            for (family, target, filter, expected) in cases {
                // Given: tcpdump in B waiting for one echo request.
                let capture = try lab.spawn(.b, ["tcpdump", "-l", "-v", "-n", "-c", "1", "-i", "b0", filter])
                do {
                    let ready = await capture.waitForOutput(containing: "listening on")
                    try #require(ready, "tcpdump did not start: \(capture.stderr)")

                    // When: A sends with TOS 0xb8 (DSCP 46, EF).
                    _ = try await lab.run(
                        .a,
                        ["ping", family, "-n", "-c", "3", "-i", "0.2", "-Q", "0xb8", target],
                        timeout: .seconds(10)
                    )
                    let captured = try await capture.wait(timeout: .seconds(5))

                    // Then: it arrives at B as DSCP 8 (0x20 = 8 << 2, ECN bits 0).
                    #expect(captured.stdout.contains(expected), "\(captured.stdout)")
                    Attachment.record(captured.stdout, named: "dscp\(family).txt")
                } catch {
                    await capture.terminate()
                    throw error
                }
            }
        }
    }

    @Test("1000 targets come up in under 5 s and the 1000th answers", .timeLimit(.minutes(1)))
    func targets() async throws {
        let start = ContinuousClock.now
        let built = try await NetLab.up(NetLabConfig(targets: 1000))
        let upTime = ContinuousClock.now - start
        do {
            #expect(upTime < .seconds(5), "up with 1000 targets took \(upTime)")
            #expect(built.addresses.targets.count == 1000)
            #expect(built.addresses.targets.last == "10.72.3.232")

            let last = try await built.run(
                .a,
                ["ping", "-n", "-c", "1", "-W", "2", "10.72.3.232"],
                timeout: .seconds(10)
            )
            #expect(last.succeeded, "ping 10.72.3.232: \(last.stdout)")
            let first = try await built.run(
                .a,
                ["ping", "-n", "-c", "1", "-W", "2", "10.72.0.1"],
                timeout: .seconds(10)
            )
            #expect(first.succeeded, "ping 10.72.0.1: \(first.stdout)")
            // The 1001st was not configured: it is routed to B, which has no such address.
            let beyond = try await built.run(
                .a,
                ["ping", "-n", "-c", "1", "-W", "1", "10.72.3.233"],
                timeout: .seconds(10)
            )
            #expect(!beyond.succeeded, "10.72.3.233 answered but only 1000 targets were configured")
            Attachment.record("up with 1000 targets: \(upTime)", named: "targets.txt")
        } catch {
            await built.down()
            throw error
        }
        await built.down()
    }

    @Test(
        "down removes the namespaces, the state directory and the delay line, and is idempotent",
        .timeLimit(.minutes(1))
    )
    func downLeavesNothing() async throws {
        let lab = try await NetLab.up(NetLabConfig(delayMs: 5))
        let name = lab.name
        let delayLinePid = try await lab.status()["pid"].flatMap { Int32($0) }
        let pid = try #require(delayLinePid, "no delay line pid in status")
        let pingGroup = try await lab.run(.a, ["cat", "/proc/sys/net/ipv4/ping_group_range"], timeout: .seconds(5))
        #expect(pingGroup.stdout.split(whereSeparator: \.isWhitespace) == ["0", "2147483647"])

        await lab.down()

        // `ip netns list` prints one namespace per line: "name" or "name (id: 3)".
        let namespaces = try Self.host(["ip", "netns", "list"]).split(separator: "\n").compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
        #expect(namespaces.allSatisfy { !$0.hasPrefix("\(name)-") }, "left behind: \(namespaces)")
        #expect(!FileManager.default.fileExists(atPath: "/run/netlab/\(name)"))
        #expect(!Self.isRunning(pid), "delay line \(pid) still running")

        // A second down is a no-op that succeeds.
        _ = try Self.host([NetLab.scriptPath, "down", "--name", name])
    }

    /// Runs a short command on the host and returns its standard output; throws on failure.
    private static func host(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(
            process.terminationStatus == 0,
            "\(arguments.joined(separator: " ")) exited \(process.terminationStatus)"
        )
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether `pid` is alive and not a zombie (the daemonised delay line is reaped by init).
    private static func isRunning(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.contains("State:\tZ")
    }
}

/// Cancels every test of the suite, with the reason, where labs cannot be built (not root,
/// `ip netns add` refused, a tool missing). A cancelled test is reported as skipped with that
/// reason, not as a failure.
struct RequiresNetLab: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        if let reason = LabEnvironment.skipReason {
            try Test.cancel("network lab unavailable: \(reason)")
        }
        try await function()
    }
}

extension Trait where Self == RequiresNetLab {
    /// See ``RequiresNetLab``.
    static var requiresNetLab: Self { RequiresNetLab() }
}

/// What the lab tests need from the machine.
enum LabEnvironment {
    /// Why the lab suite cannot run here, or nil.
    static let skipReason: String? = {
        if let reason = NetLab.availability() { return reason }
        let missing = ["ping", "tracepath", "iperf3", "tcpdump"].filter { tool in
            !["/usr/bin", "/usr/sbin", "/bin", "/sbin"].contains {
                FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
            }
        }
        return missing.isEmpty ? nil : "missing \(missing.joined(separator: ", "))"
    }()
}

// MARK: - Parsing the reference tools' output

/// One line of iputils ping output: `64 bytes from 10.71.3.2: icmp_seq=1 ttl=62 time=20.3 ms`.
struct PingReply {
    var seq: Int
    var ttl: Int
    var rttMs: Double

    static func parse(_ output: String) -> [PingReply] {
        output.matches(of: #/icmp_seq=(\d+) ttl=(\d+) time=([0-9.]+) ms/#).compactMap { match in
            guard let seq = Int(match.1), let ttl = Int(match.2), let rtt = Double(match.3) else { return nil }
            return PingReply(seq: seq, ttl: ttl, rttMs: rtt)
        }
    }

    /// The count from ping's summary line `400 packets transmitted, 317 received, …`.
    static func receivedCount(_ output: String) -> Int? {
        output.firstMatch(of: #/(\d+) packets transmitted, (\d+) received/#).flatMap { Int($0.2) }
    }

    static func summary(_ replies: [PingReply]) -> String {
        let rtts = replies.map(\.rttMs)
        return
            "\(replies.count) replies, min \(rtts.min() ?? .nan) median \(rtts.median ?? .nan) max \(rtts.max() ?? .nan) ms"
    }
}

/// tracepath's hop lines (` 2:  10.71.2.2   4.463ms`) and its `Resume:` line.
struct Tracepath {
    struct Resume: Equatable {
        var pmtu: Int
        var hops: Int
        var back: Int
    }

    /// (hop number, responder) in output order, without `[LOCALHOST]` and `no reply`.
    var lines: [(hop: Int, address: String)] = []
    var resume: Resume?

    init(_ output: String) {
        for line in output.split(separator: "\n") {
            if let match = line.firstMatch(of: #/^\s*(\d+)\??:\s+([0-9a-fA-F.:]+)\s/#), let hop = Int(match.1) {
                lines.append((hop, String(match.2)))
            } else if let match = line.firstMatch(of: #/Resume: pmtu (\d+) hops (\d+) back (\d+)/#),
                let pmtu = Int(match.1), let hops = Int(match.2), let back = Int(match.3)
            {
                resume = Resume(pmtu: pmtu, hops: hops, back: back)
            }
        }
    }

    /// The lowest hop number at which `address` answered.
    func firstHop(of address: String) -> Int? {
        lines.filter { $0.address == address }.map(\.hop).min()
    }

    /// Distinct responders in order of first appearance.
    var responders: [String] {
        var seen: [String] = []
        for line in lines where !seen.contains(line.address) { seen.append(line.address) }
        return seen
    }
}

/// The part of `iperf3 -J` output the rate test reads.
struct IperfResult: Decodable {
    struct Sum: Decodable {
        var bitsPerSecond: Double
        var retransmits: Int?
        enum CodingKeys: String, CodingKey {
            case bitsPerSecond = "bits_per_second"
            case retransmits
        }
    }
    struct End: Decodable {
        var sumSent: Sum
        var sumReceived: Sum
        enum CodingKeys: String, CodingKey {
            case sumSent = "sum_sent"
            case sumReceived = "sum_received"
        }
    }
    var end: End
}

// MARK: - Statistics

extension Array where Element == Double {
    var median: Double? {
        guard !isEmpty else { return nil }
        let sorted = self.sorted()
        let middle = sorted.count / 2
        return sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    }

    /// Sample standard deviation.
    var standardDeviation: Double? {
        guard count > 1 else { return nil }
        let mean = reduce(0, +) / Double(count)
        return (map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count - 1)).squareRoot()
    }
}

/// The central `confidence` interval of Binomial(`trials`, `success`): the smallest range of
/// counts whose two tails each hold at most (1 − confidence)/2 of the probability.
func binomialInterval(trials: Int, success: Double, confidence: Double) -> ClosedRange<Int> {
    let tail = (1 - confidence) / 2
    let logChoose = { (k: Int) in
        lgamma(Double(trials + 1)) - lgamma(Double(k + 1)) - lgamma(Double(trials - k + 1))
    }
    let pmf = (0...trials).map { k in
        exp(logChoose(k) + Double(k) * log(success) + Double(trials - k) * log(1 - success))
    }
    var lower = 0
    var below = 0.0
    while lower < trials, below + pmf[lower] <= tail {
        below += pmf[lower]
        lower += 1
    }
    var upper = trials
    var above = 0.0
    while upper > lower, above + pmf[upper] <= tail {
        above += pmf[upper]
        upper -= 1
    }
    return lower...upper
}
