import CSwarmProbes
import Foundation
import Glibc
import NIOPosix
// why: the probe speaks SwarmCore types (ProbeKind, ProbeObservation).
public import SwarmCore

/// Queries a DNS server with the agent's own resolver client and reports the reply: rcode, answers
/// with TTLs (data printed as dig prints it), the query time and whether TCP was needed.
///
/// - Server: `options.dns.server` (`host`, `host:port`, `[v6]:port`), else the first `nameserver`
///   in /etc/resolv.conf. The query name is the target host; for PTR an address literal is turned
///   into its in-addr.arpa / ip6.arpa name, as `dig -x` does.
/// - Transport: UDP with EDNS0 (payload 1232), a random 16-bit id, and a reply accepted only when
///   its id and question match (other datagrams are ignored until the timeout). A reply with TC set
///   is retried over TCP; `options.dns.tcp` uses TCP from the start.
/// - Query time: UDP send → the kernel's receive timestamp of the reply (SO_TIMESTAMPNS, both read
///   on CLOCK_REALTIME), falling back to the monotonic clock; over TCP, writing the query → the last
///   reply byte on the monotonic clock, as dig counts it (handshake excluded). After a fallback the
///   figures are those of the TCP exchange, and `truncated` records that the UDP reply had TC set.
/// - Status: NOERROR and NXDOMAIN are `ok`, because both are answers from a working server (the rcode
///   field says which); SERVFAIL, REFUSED and other rcodes are `failed`; no reply is `timeout`.
public struct DNSProbe: Probe {
    public static let kind: ProbeKind = .dns

    public init() {}

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let startedAt = Timestamp.now()
        let clock = ContinuousClock()
        let began = clock.now
        let spec = context.spec
        do {
            let outcome = try await NIOThreadPool.singleton.runIfActive { Self.measure(spec: spec) }
            return context.observation(
                kind: .dns,
                startedAt: startedAt,
                duration: clock.now - began,
                status: outcome.status,
                reason: outcome.reason,
                result: .dns(outcome.result)
            )
        } catch {
            return context.observation(
                kind: .dns,
                startedAt: startedAt,
                duration: clock.now - began,
                status: .failed,
                reason: "dns probe could not run: the agent is shutting down (\(error))"
            )
        }
    }

    struct Outcome {
        var status: MeasurementStatus
        var reason: String
        var result: DNSProbeResult
    }

    /// The blocking measurement; runs on a thread-pool thread.
    static func measure(spec: TestSpec, resolvConfPath: String = "/etc/resolv.conf") -> Outcome {
        let deadline = ContinuousClock.now + spec.schedule.timeout
        let options = spec.options.dns
        var result = DNSProbeResult()
        result.query = spec.target.host
        result.recordType = options.recordType.uppercased()
        func fail(_ status: MeasurementStatus, _ why: String) -> Outcome {
            let server = result.server.isEmpty ? "" : " @\(result.server)"
            return Outcome(
                status: status,
                reason: "dns \(result.query) \(result.recordType)\(server): \(why)",
                result: result
            )
        }

        guard let type = DNSRecordType(text: options.recordType), type != .opt else {
            return fail(
                .failed,
                "record type \"\(options.recordType)\" is not supported (use A, AAAA, MX, TXT, NS, CNAME, SOA, PTR, "
                    + "SRV, CAA, ANY or TYPEnnn)"
            )
        }
        result.recordType = type.description
        let name: DNSName
        do {
            if type == .ptr, let reverse = DNSName.reverseLookupName(for: spec.target.host) {
                name = reverse
            } else {
                name = try DNSName(parsing: spec.target.host)
            }
        } catch {
            return fail(.failed, "the target is not a valid query name: \(error)")
        }
        result.query = name.description

        let server: DNSServerAddress
        if options.server.isEmpty {
            let text = (try? String(contentsOfFile: resolvConfPath, encoding: .utf8)) ?? ""
            guard let first = DNSServerAddress.firstNameserver(inResolvConf: text) else {
                return fail(.failed, "no nameserver in \(resolvConfPath); set the test's dns server option")
            }
            server = first
        } else {
            guard let parsed = DNSServerAddress.parse(options.server) else {
                return fail(.failed, "dns server \"\(options.server)\" is not host, host:port or [v6]:port")
            }
            server = parsed
        }
        result.server = server.description
        let address: SocketAddressBytes
        switch SocketAddressBytes.resolve(
            host: server.host,
            port: server.port,
            family: spec.target.family,
            type: SOCK_DGRAM
        ) {
        case .success(let addresses):
            guard let first = addresses.first else { return fail(.failed, "server \(server.host) has no address") }
            address = first
        case .failure(let message):
            return fail(.failed, message)
        }
        result.server = DNSServerAddress(host: address.text, port: server.port).description

        let query = DNSMessage.query(
            id: UInt16.random(in: 0...UInt16.max),
            name: name,
            type: type,
            recursionDesired: options.recursionDesired
        )
        let dscp = spec.options.dscp
        var exchange: Result<DNSTransport.Reply, DNSTransport.Failure>
        if options.tcp {
            result.usedTCP = true
            exchange = DNSTransport.exchangeTCP(query: query, to: address, deadline: deadline, dscp: dscp)
        } else {
            exchange = DNSTransport.exchangeUDP(query: query, to: address, deadline: deadline, dscp: dscp)
            if case .success(let reply) = exchange, reply.message.truncated {
                result.truncated = true
                result.usedTCP = true
                var retry = query
                retry.id = UInt16.random(in: 0...UInt16.max)
                exchange = DNSTransport.exchangeTCP(query: retry, to: address, deadline: deadline, dscp: dscp)
            }
        }

        let reply: DNSTransport.Reply
        switch exchange {
        case .success(let value): reply = value
        case .failure(let failure):
            let transport = result.usedTCP ? (result.truncated ? "TCP (after a truncated UDP reply)" : "TCP") : "UDP"
            return fail(failure.isTimeout ? .timeout : .failed, "\(transport): \(failure.message)")
        }
        result.queryTime = reply.queryTime
        result.truncated = result.truncated || reply.message.truncated
        result.rcode = DNSMessage.responseCodeText(reply.message.responseCode)
        result.answerCount = reply.message.answers.count
        result.answers = reply.message.answers.map {
            DNSAnswer(name: $0.name.description, type: $0.type.description, ttl: $0.ttl, data: $0.data.presentation)
        }
        switch reply.message.responseCode {
        case 0, 3:
            return Outcome(status: .ok, reason: "", result: result)
        default:
            return fail(.failed, "the server answered \(result.rcode)")
        }
    }
}
