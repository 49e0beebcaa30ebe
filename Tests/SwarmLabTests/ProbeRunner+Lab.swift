import Foundation
import SwarmTestSupport
import Testing

// MARK: - The product binary

/// The built `streamswarm` binary (see ``ProductBinary``).
enum ProbeBinary {
    static var path: String? { ProductBinary.path }
    static func require() throws -> String { try ProductBinary.require() }
}

// MARK: - Running probes in the lab

/// A probe run whose output was not one JSON measurement.
struct ProbeOutputError: Error, CustomStringConvertible {
    var command: String
    var output: ProcessOutput
    var problem: String

    var description: String {
        "\(command): \(problem) (exit \(output.status)); stdout: \(output.stdout.prefix(2000)) stderr: \(output.stderr.suffix(2000))"
    }
}

extension NetLab {
    /// Runs `streamswarm probe KIND TARGET OPTIONS --json` in namespace A and decodes the measurement.
    ///
    /// A non-OK status is not an error here (the binary exits 1 then): callers assert on `status`.
    /// The JSON is saved as the attachment `NAME.json`.
    func probe(
        _ kind: String,
        _ target: String,
        _ options: [String] = [],
        named name: String,
        timeout: Duration = .seconds(20)
    ) async throws -> ProbeMeasurement {
        let binary = try ProbeBinary.require()
        let arguments = [binary, "probe", kind, target] + options + ["--json"]
        let command = (["streamswarm"] + arguments.dropFirst()).joined(separator: " ")
        let output = try await run(.a, arguments, timeout: timeout)
        let json = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard json.hasPrefix("{") else {
            throw ProbeOutputError(command: command, output: output, problem: "no JSON on standard output")
        }
        Attachment.record("# \(command)\n\(json)\n", named: "\(name).json")
        do {
            return try JSONDecoder().decode(ProbeMeasurement.self, from: Data(json.utf8))
        } catch {
            throw ProbeOutputError(command: command, output: output, problem: "undecodable measurement: \(error)")
        }
    }

    /// Sends one echo request over IPv6 and waits up to 3 s for it. A fresh lab's first IPv6
    /// packets wait about a second for neighbour discovery on the A–R1 link (ping shows ~1 s too),
    /// which would otherwise land in the first measurement.
    func warmUpIPv6() async throws {
        let output = try await run(.a, ["ping", "-6", "-n", "-c", "1", "-W", "3", addresses.b6], timeout: .seconds(10))
        try #require(output.succeeded, "IPv6 warm-up ping to \(addresses.b6) failed: \(output.stdout)\(output.stderr)")
    }

    /// Turns off Linux's per-destination ICMP error rate limit (a burst of 6, then one per
    /// `icmp_ratelimit`) in R1, R2 and B, for IPv4 and IPv6.
    ///
    /// Several traces within a second ask each router for more than 6 time-exceeded messages to
    /// A; with the limit on, later runs lose whole hops (seen: hop 1 at 100% loss in the third
    /// trace, and a 2 s retry in an mtu walk). That is real router behaviour the probes report as
    /// loss, but it is not what the path tests check.
    func disableICMPRateLimit() async throws {
        for node in [Node.r1, .r2, .b] {
            let output = try await run(
                node,
                ["sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0"],
                timeout: .seconds(5)
            )
            try #require(output.succeeded, "sysctl in \(node): \(output.stderr)")
        }
    }

    /// Starts `arguments` in `node`, waits until `ready` says it is serving, runs `body`, and kills
    /// the server with SIGKILL in every path (a child may inherit blocked signals, so SIGTERM is
    /// not relied on).
    ///
    /// Set `closesInheritedDescriptors` for servers that close every inherited descriptor when they
    /// start, such as dnsmasq. Foundation's `Process` on Linux watches each child through a socket
    /// the child inherits; when the child closes it, Foundation's one process-watching thread calls
    /// a blocking `waitpid` on the still-running child and stops reaping every other child of the
    /// test process, so every later command "never ends" and time limits cannot help. Such a
    /// server is therefore started under `sh`, which keeps the socket open, and is killed by its
    /// own pid.
    func withServer<T>(
        _ node: Node,
        _ arguments: [String],
        closesInheritedDescriptors: Bool = false,
        ready: (BackgroundProcess) async throws -> Bool,
        _ body: (BackgroundProcess) async throws -> T
    ) async throws -> T {
        let command =
            closesInheritedDescriptors
            ? ["/bin/sh", "-c", #""$@" & echo "server pid $!"; wait"#, "sh"] + arguments : arguments
        let server = try spawn(node, command)
        let innerPID = {
            closesInheritedDescriptors
                ? server.stdout.firstMatch(of: #/server pid (\d+)/#).flatMap { Int32($0.1) } : nil
        }
        do {
            let isReady = try await ready(server)
            try #require(
                isReady,
                "\(arguments.joined(separator: " ")) did not start in \(node): \(server.stdout)\(server.stderr)"
            )
            let result = try await body(server)
            await Self.stop(server, innerPID: innerPID())
            return result
        } catch {
            await Self.stop(server, innerPID: innerPID())
            throw error
        }
    }

    /// Whether something listens on TCP `port` in `node`, polled for up to 5 s (for servers such as
    /// busybox httpd that print nothing when they start).
    func waitForTCPListener(_ node: Node, port: Int) async -> Bool {
        await eventually(timeout: .seconds(5), every: .milliseconds(50)) {
            let output = try? await run(node, ["ss", "-H", "-l", "-t", "-n", "sport = :\(port)"], timeout: .seconds(5))
            return output?.stdout.contains(":\(port)") ?? false
        }
    }

    /// The packets dropped so far by R1's loss rule (its nftables counter).
    func lossRuleDrops() async throws -> Int {
        let text = try await statusText()
        return try #require(
            text.firstMatch(of: #/counter packets (\d+) bytes \d+ drop/#).flatMap { Int($0.1) },
            "no loss counter in the lab status:\n\(text)"
        )
    }

    private static func stop(_ server: BackgroundProcess, innerPID: Int32? = nil) async {
        if let innerPID, server.isRunning { kill(innerPID, SIGKILL) }
        if server.isRunning { kill(server.pid, SIGKILL) }
        await server.terminate()
    }
}

// MARK: - The measurement as proto3 JSON

/// The fields of a `streamswarm.mesh.v1.Measurement` (proto3 JSON) that the lab tests read.
///
/// proto3 JSON leaves out fields at their default (0, "", false, empty), so every field is
/// optional here; `nil` for a number means 0 unless the proto marks it `optional`.
struct ProbeMeasurement: Decodable {
    var kind: String
    var status: String
    var reason: String?
    var durationNanos: ProtoInt64?
    var icmp: ICMP?
    var udp: UDP?
    var tcp: TCP?
    var dns: DNS?
    var http: HTTP?
    var traceroute: Traceroute?
    var mtu: MTU?
    var bandwidth: Bandwidth?

    var isOK: Bool { status == "MEASUREMENT_STATUS_OK" }
    /// Seconds the probe ran, from `durationNanos`.
    var seconds: Double { Double(durationNanos?.value ?? 0) / 1e9 }
    /// Status and reason, for failure messages.
    var verdict: String { "\(status) \(reason ?? "")" }

    struct RTT: Decodable {
        var minUs: Double?
        var avgUs: Double?
        var maxUs: Double?
        var mdevUs: Double?
        var p50Us: Double?
        var p90Us: Double?
        var p99Us: Double?
        var jitterUs: Double?
    }

    struct ICMP: Decodable {
        var address: String?
        var sent: Int?
        var received: Int?
        var lossPercent: Double?
        var rtt: RTT?
        var replyTtl: Int?
        var rttsUs: [Double]?
        var socketMode: String?
        var dscp: Int?
    }

    struct Voice: Decodable {
        var rFactor: Double?
        var mos: Double?
        var codec: String?
    }

    struct UDP: Decodable {
        var address: String?
        var sent: Int?
        var received: Int?
        var lossPercent: Double?
        var rtt: RTT?
        var dscpSent: Int?
        var dscpReceived: Int?
        var voice: Voice?
    }

    struct TCPInfo: Decodable {
        var rttUs: Int?
        var minRttUs: Int?
        var pmtu: Int?
    }

    struct TCP: Decodable {
        var address: String?
        var port: Int?
        var outcome: String?
        var connectUs: Double?
        var info: TCPInfo?
        var error: String?
    }

    struct DNSAnswer: Decodable {
        var name: String?
        var type: String?
        var ttl: Int?
        var data: String?
    }

    struct DNS: Decodable {
        var server: String?
        var query: String?
        var queryTimeUs: Double?
        var rcode: String?
        var answerCount: Int?
        var answers: [DNSAnswer]?
    }

    struct HTTPPhases: Decodable {
        var dnsUs: Double?
        var connectUs: Double?
        var tlsUs: Double?
        var firstByteUs: Double?
        var transferUs: Double?
        var totalUs: Double?
    }

    struct HTTP: Decodable {
        var url: String?
        var phases: HTTPPhases?
        var statusCode: Int?
        var bytes: ProtoInt64?
        var httpVersion: String?
    }

    struct Hop: Decodable {
        var ttl: Int?
        var address: String?
        var rttsUs: [Double]?
        var lossPercent: Double?
        var icmpType: Int?
        var icmpCode: Int?
        var mtu: Int?
    }

    struct Traceroute: Decodable {
        var destination: String?
        var mode: String?
        var hops: [Hop]?
        var reached: Bool?
        var pathFingerprint: String?

        /// Responding addresses by TTL ("" for a hop without reply).
        var addresses: [String] { (hops ?? []).map { $0.address ?? "" } }
    }

    struct MTU: Decodable {
        var destination: String?
        var pathMtu: Int?
        var dropHopAddress: String?
        var dropHopTtl: Int?
        var hops: [Hop]?
    }

    struct Bandwidth: Decodable {
        var peer: String?
        var downloadMbps: Double?
        var uploadMbps: Double?
        var bytesDown: ProtoInt64?
        var bytesUp: ProtoInt64?
        var durationS: Double?
        var retransmits: Int?
        var perSecondMbps: [Double]?
    }
}

/// A proto3 JSON 64-bit integer: a decimal string, though parsers accept a number too.
struct ProtoInt64: Decodable, Hashable {
    var value: Int64

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Int64(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "\(text) is not a 64-bit integer"
                )
            }
            self.value = value
        } else {
            value = try container.decode(Int64.self)
        }
    }
}
