import Foundation
import Glibc
import NIOCore
import NIOPosix
import SwarmCore
import Testing

@testable import SwarmProbes

/// The dns probe against a real dnsmasq on 127.0.0.1, compared answer by answer with dig.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq"), "needs dnsmasq (dnsmasq-base)"))
struct DNSProbeTests {
    static let dnsmasq = "/usr/sbin/dnsmasq"
    static let dig = "/usr/bin/dig"
    /// Six 250-byte strings: about 1.5 KB of TXT, more than the 1232 bytes the probe advertises.
    static let bigText = String(repeating: "x", count: 250)

    /// Runs `body` with dnsmasq serving the lab.test zone on a free port.
    static func withDnsmasq<T>(_ body: (Int) async throws -> T) async throws -> T {
        try await LoopbackFixtures.withServer(dnsmasq, arguments: arguments(port:)) { try await body($0) }
    }

    static func arguments(port: Int) -> [String] {
        [
            "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--pid-file",
            "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root",
            "--local-ttl=300", "--address=/lab.test/192.0.2.7", "--address=/nx.test/",
            "--host-record=v6.lab.test,192.0.2.8,2001:db8::8",
            "--srv-host=_sip._tcp.lab.test,sip.lab.test,5060,10,20",
            "--mx-host=lab.test,mail.lab.test,10",
            "--dns-rr=caa.lab.test,257,000569737375656C657473656E63727970742E6F7267",
            "--dns-rr=odd.lab.test,65280,0102FF",
            "--ptr-record=8.2.0.192.in-addr.arpa,v6.lab.test",
            "--cname=alias.lab.test,v6.lab.test",
            #"--txt-record=t.lab.test,he said "hi",a\b"#,
            "--txt-record=big.lab.test," + Array(repeating: bigText, count: 6).joined(separator: ","),
        ]
    }

    static func spec(host: String, type: String, server: String, tcp: Bool = false) -> TestSpec {
        var spec = TestSpec(
            name: "dns",
            probes: [.dns],
            target: TestSpec.Target(host: host),
            schedule: TestSpec.Schedule(timeout: .seconds(3))
        )
        spec.options.dns = TestSpec.DNSOptions(server: server, recordType: type, tcp: tcp)
        return spec
    }

    static func probe(_ spec: TestSpec) async -> (ProbeObservation, DNSProbeResult) {
        let observation = await DNSProbe().run(ProbeContext(testID: TestID(1), revision: 1, spec: spec))
        guard case .dns(let result) = observation.result else { return (observation, DNSProbeResult()) }
        return (observation, result)
    }

    /// What dig says: the status of the final reply, answer lines as "name ttl TYPE data", and
    /// whether it retried over TCP.
    struct DigAnswer: Equatable {
        var status: String
        var answers: [String]
        var retriedOverTCP: Bool
    }

    static func dig(_ name: String, _ type: String, port: Int, extra: [String] = []) throws -> DigAnswer {
        let output = try LoopbackFixtures.run(
            dig,
            ["@127.0.0.1", "-p", String(port), name, type, "+noall", "+answer", "+comments", "+tries=1"] + extra
        )
        var status = ""
        var answers: [String] = []
        for line in output.split(separator: "\n") {
            if let range = line.range(of: "status: ") {
                status = String(line[range.upperBound...].prefix { $0 != "," })
            } else if !line.hasPrefix(";"), !line.isEmpty {
                // name \t ttl \t class \t type[\t or space]data
                let fields = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: true)
                guard fields.count == 4 else { continue }
                let rest = fields[3]
                let type = rest.prefix { $0 != "\t" && $0 != " " }
                let data = rest.dropFirst(type.count).drop { $0 == "\t" || $0 == " " }
                answers.append("\(fields[0]) \(fields[1]) \(type) \(data)")
            }
        }
        return DigAnswer(status: status, answers: answers, retriedOverTCP: output.contains("retrying in TCP mode"))
    }

    static func lines(_ result: DNSProbeResult) -> [String] {
        result.answers.map { "\($0.name) \($0.ttl) \($0.type) \($0.data)" }
    }

    // MARK: - Against dnsmasq and dig

    @Test(
        "answers, TTLs and rcode match dig for each record type",
        .timeLimit(.minutes(1)),
        arguments: [
            ("www.lab.test", "A"),
            ("v6.lab.test", "AAAA"),
            ("alias.lab.test", "A"),
            ("alias.lab.test", "AAAA"),
            ("lab.test", "MX"),
            ("t.lab.test", "TXT"),
            ("_sip._tcp.lab.test", "SRV"),
            ("caa.lab.test", "CAA"),
            ("odd.lab.test", "TYPE65280"),
            ("8.2.0.192.in-addr.arpa", "PTR"),
            ("www.nx.test", "A"),
        ]
    )
    func matchesDig(name: String, type: String) async throws {
        try await Self.withDnsmasq { port in
            let (observation, result) = await Self.probe(Self.spec(host: name, type: type, server: "127.0.0.1:\(port)"))
            let reference = try Self.dig(name, type, port: port)
            #expect(observation.status == .ok, "\(observation.reason)")
            #expect(result.rcode == reference.status)
            #expect(Self.lines(result) == reference.answers)
            #expect(result.answerCount == reference.answers.count)
            #expect(result.server == "127.0.0.1:\(port)")
            #expect(result.recordType == type)
            #expect(!result.truncated && !result.usedTCP)
            #expect(result.queryTime != nil)
        }
    }

    @Test("NXDOMAIN is an ok run whose rcode says so", .timeLimit(.minutes(1)))
    func nxdomain() async throws {
        try await Self.withDnsmasq { port in
            let (observation, result) = await Self.probe(
                Self.spec(host: "www.nx.test", type: "A", server: "127.0.0.1:\(port)")
            )
            #expect(observation.status == .ok)
            #expect(observation.reason.isEmpty)
            #expect(result.rcode == "NXDOMAIN")
            #expect(result.answers.isEmpty)
        }
    }

    @Test("REFUSED fails with the rcode in the reason, as dig reports it", .timeLimit(.minutes(1)))
    func refused() async throws {
        try await Self.withDnsmasq { port in
            // dnsmasq has no upstream, so a name outside its zones is refused.
            let (observation, result) = await Self.probe(
                Self.spec(host: "example.com", type: "NS", server: "127.0.0.1:\(port)")
            )
            let reference = try Self.dig("example.com", "NS", port: port)
            #expect(reference.status == "REFUSED")
            #expect(observation.status == .failed)
            #expect(result.rcode == "REFUSED")
            #expect(observation.reason == "dns example.com. NS @127.0.0.1:\(port): the server answered REFUSED")
        }
    }

    @Test("a truncated UDP reply is retried over TCP and matches dig", .timeLimit(.minutes(1)))
    func truncationFallsBackToTCP() async throws {
        try await Self.withDnsmasq { port in
            let (observation, result) = await Self.probe(
                Self.spec(host: "big.lab.test", type: "TXT", server: "127.0.0.1:\(port)")
            )
            let reference = try Self.dig("big.lab.test", "TXT", port: port)
            #expect(reference.retriedOverTCP)
            #expect(observation.status == .ok, "\(observation.reason)")
            #expect(result.truncated && result.usedTCP)
            #expect(Self.lines(result) == reference.answers)
            #expect(
                result.answers.first?.data == Array(repeating: "\"\(Self.bigText)\"", count: 6).joined(separator: " ")
            )
        }
    }

    @Test("the tcp option queries over TCP from the start", .timeLimit(.minutes(1)))
    func tcpOption() async throws {
        try await Self.withDnsmasq { port in
            let spec = Self.spec(host: "v6.lab.test", type: "AAAA", server: "127.0.0.1:\(port)", tcp: true)
            let (observation, result) = await Self.probe(spec)
            #expect(observation.status == .ok)
            #expect(result.usedTCP && !result.truncated)
            let reference = try Self.dig("v6.lab.test", "AAAA", port: port, extra: ["+tcp"])
            #expect(Self.lines(result) == reference.answers)
        }
    }

    @Test("a PTR query for an address asks for its in-addr.arpa name", .timeLimit(.minutes(1)))
    func reverseLookup() async throws {
        try await Self.withDnsmasq { port in
            let (observation, result) = await Self.probe(
                Self.spec(host: "192.0.2.8", type: "PTR", server: "127.0.0.1:\(port)")
            )
            #expect(observation.status == .ok)
            #expect(result.query == "8.2.0.192.in-addr.arpa.")
            let reference = try Self.dig("8.2.0.192.in-addr.arpa", "PTR", port: port)
            #expect(Self.lines(result) == reference.answers)
        }
    }

    // MARK: - Without a real server

    @Test("a closed port fails fast with ICMP port unreachable", .timeLimit(.minutes(1)))
    func closedPort() async throws {
        let port = try LoopbackFixtures.freePort()
        let (observation, _) = await Self.probe(Self.spec(host: "www.lab.test", type: "A", server: "127.0.0.1:\(port)"))
        #expect(observation.status == .failed)
        #expect(
            observation.reason
                == "dns www.lab.test. A @127.0.0.1:\(port): UDP: the server's port is closed (ICMP port unreachable)"
        )
    }

    @Test("a silent server times out", .timeLimit(.minutes(1)))
    func silentServer() async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        let port = try #require(channel.localAddress?.port)
        var spec = Self.spec(host: "www.lab.test", type: "A", server: "127.0.0.1:\(port)")
        spec.schedule.timeout = .milliseconds(300)
        let (observation, result) = await Self.probe(spec)
        #expect(observation.status == .timeout)
        #expect(observation.reason == "dns www.lab.test. A @127.0.0.1:\(port): UDP: no reply within the timeout")
        #expect(result.queryTime == nil)
    }

    @Test("spoofed and malformed datagrams are ignored until the real reply", .timeLimit(.minutes(1)))
    func spoofedRepliesIgnored() async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SpoofingResponder())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        let port = try #require(channel.localAddress?.port)
        let (observation, result) = await Self.probe(
            Self.spec(host: "www.lab.test", type: "A", server: "127.0.0.1:\(port)")
        )
        #expect(observation.status == .ok, "\(observation.reason)")
        #expect(Self.lines(result) == ["www.lab.test. 42 A 192.0.2.99"])
    }

    @Test("bad options fail with a reason that says what is accepted")
    func badOptions() async {
        let (badType, _) = await Self.probe(Self.spec(host: "www.lab.test", type: "BOGUS", server: "127.0.0.1"))
        #expect(badType.status == .failed)
        #expect(badType.reason.contains("record type \"BOGUS\" is not supported"))
        let (badServer, _) = await Self.probe(Self.spec(host: "www.lab.test", type: "A", server: "[::1"))
        #expect(badServer.reason.hasSuffix("dns server \"[::1\" is not host, host:port or [v6]:port"))
    }
}

/// Answers each query three times: with a wrong id, with garbage, then correctly.
private final class SpoofingResponder: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let query = try? DNSMessageReader.decode(Array(envelope.data.readableBytesView)) else { return }
        var reply = query
        reply.isResponse = true
        reply.answers = [
            DNSRecord(name: query.questions[0].name, type: .a, ttl: 42, data: .a([192, 0, 2, 99]))
        ]
        var spoofed = reply
        spoofed.id = query.id &+ 1
        spoofed.answers[0].data = .a([203, 0, 113, 66])
        let datagrams = [
            (try? DNSMessageWriter.encode(spoofed)) ?? [],
            [0xDE, 0xAD],
            (try? DNSMessageWriter.encode(reply)) ?? [],
        ]
        for bytes in datagrams {
            let buffer = context.channel.allocator.buffer(bytes: bytes)
            context.write(
                wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)),
                promise: nil
            )
        }
        context.flush()
    }
}
