import CSwarmProbes
import Foundation
// why: the probe speaks SwarmCore types (ProbeKind, ProbeObservation).
public import SwarmCore

/// A hop-by-hop path with rising TTL. UDP mode needs no privilege (IP_RECVERR, like tracepath); ICMP
/// mode uses an ICMP datagram socket where allowed, else raw. The flow (ports, identifier) stays
/// constant, Paris-traceroute style, and the path gets a fingerprint so the server can flag changes.
public struct TracerouteProbe: Probe {
    public static let kind: ProbeKind = .traceroute

    public init() {}

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let run = context.start(.traceroute)
        let spec = context.spec
        let options = spec.options.traceroute
        let kind: TraceSocket.Kind?
        switch options.mode {
        case .udp: kind = .udp
        case .icmp: kind = .icmp
        case .tcpSYN: kind = nil
        }
        let address: SocketAddressBytes
        switch await Resolver.resolve(host: spec.target.host, family: spec.target.family) {
        case .success(let resolved): address = resolved
        case .failure(let problem): return run.finish(.failed, "traceroute: \(problem.message)")
        }
        let plan = TracePlan(
            maxHops: max(1, min(64, options.maxHops)),
            probesPerHop: max(1, min(10, options.probesPerHop)),
            hopWait: min(spec.schedule.timeout, .seconds(2)),
            dscp: spec.options.dscp,
            resolveNames: options.resolveNames,
            source: spec.options.sourceAddress,
            interface: spec.options.interface
        )
        // why: tcp-syn mode aims at a service port (default 80), where SYNs pass firewalls that drop UDP.
        let synPort = spec.target.port > 0 ? spec.target.port : 80
        let outcome = await DedicatedThread.run(name: "traceroute") {
            if let kind { return Tracer.trace(to: address, kind: kind, plan: plan) }
            return TCPSYNTracer.trace(to: address, port: synPort, plan: plan)
        }
        switch outcome {
        case .failure(let problem):
            return run.finish(problem.status, "traceroute: \(problem.reason)")
        case .success(var result):
            result.mode = options.mode.rawValue
            if result.reached { return run.finish(.ok, "", .traceroute(result)) }
            return run.finish(
                .failed,
                "traceroute: \(address.text) not reached within \(plan.maxHops) hops "
                    + "(last answer from \(result.hops.last { !$0.address.isEmpty }?.address ?? "nobody"))",
                .traceroute(result)
            )
        }
    }
}

struct TracePlan: Sendable {
    var maxHops: Int
    var probesPerHop: Int
    var hopWait: Duration
    var dscp: Int
    var resolveNames: Bool
    var source: String
    var interface: String
    /// A path silent this many hops in a row ends the trace (nothing further is likely to answer).
    var silentHopsLimit = 8
}

enum Tracer {
    /// TTL by TTL: all probes of one TTL go out together, then their answers are awaited.
    static func trace(
        to address: SocketAddressBytes,
        kind: TraceSocket.Kind,
        plan: TracePlan
    ) -> Result<
        TracerouteProbeResult, SocketUnavailable
    > {
        let socket: TraceSocket
        switch TraceSocket.open(
            kind: kind,
            destination: address,
            dscp: plan.dscp,
            source: plan.source,
            interface: plan.interface
        ) {
        case .success(let opened): socket = opened
        case .failure(let problem): return .failure(problem)
        }
        defer { socket.close() }
        var result = TracerouteProbeResult()
        result.destination = address.text
        result.flowID = socket.flowID
        var silent = 0
        for ttl in 1...plan.maxHops {
            var hop = TracerouteHop(ttl: ttl)
            var sentAt = [Int64](repeating: 0, count: plan.probesPerHop)
            var answered = Set<Int>()
            var reachedHere = false
            for index in 0..<plan.probesPerHop {
                sentAt[index] = Datagram.realtimeNanos()
                _ = socket.send(ttl: ttl, index: index)
                hop.probesSent += 1
            }
            let deadline = ContinuousClock.now + plan.hopWait
            while answered.count < plan.probesPerHop, ContinuousClock.now < deadline {
                guard Datagram.waitReadable(socket.fd, timeout: deadline - ContinuousClock.now) else { continue }
                for reply in socket.drain() where reply.ttl == ttl && reply.index < plan.probesPerHop {
                    guard !reply.isLocalError, answered.insert(reply.index).inserted else { continue }
                    hop.rtts.append(.nanoseconds(max(0, reply.receivedAt - sentAt[reply.index])))
                    if hop.address.isEmpty { hop.address = reply.from }
                    hop.icmpType = reply.icmpType
                    hop.icmpCode = reply.icmpCode
                    if let mtu = reply.mtu { hop.mtu = mtu }
                    if reply.fromDestination || reply.from == address.text { reachedHere = true }
                }
            }
            if plan.resolveNames && !hop.address.isEmpty { hop.name = reverseName(hop.address) }
            result.hops.append(hop)
            if reachedHere {
                result.reached = true
                break
            }
            silent = hop.address.isEmpty ? silent + 1 : 0
            if silent >= plan.silentHopsLimit { break }
        }
        result.pathFingerprint = TracerouteProbeResult.fingerprint(of: result.hops)
        return .success(result)
    }

    /// PTR lookup through the system resolver; empty when the address has no name.
    static func reverseName(_ address: String) -> String {
        guard
            case .success(let resolved) = SocketAddressBytes.resolve(
                host: address,
                port: 0,
                family: .any,
                type: SOCK_DGRAM
            ),
            let first = resolved.first
        else { return "" }
        var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let rc = first.withSockaddr { getnameinfo($0, $1, &name, socklen_t(name.count), nil, 0, NI_NAMEREQD) }
        guard rc == 0 else { return "" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
