import CSwarmProbes
import Foundation
// why: the probe speaks SwarmCore types (ProbeKind, ProbeObservation).
public import SwarmCore

/// Path MTU discovery with DF set (IP_PMTUDISC_PROBE, so the kernel's cached value does not cap the
/// probes) and ICMP errors read through IP_RECVERR, unprivileged.
///
/// First a tracepath-style walk: probes as large as the current estimate go out with rising TTL; a
/// router that cannot forward them reports "fragmentation needed" / "packet too big" with its
/// next-hop MTU, which becomes the estimate and names the hop where it drops. When the destination
/// answers at the estimate, that is the path MTU. When it does not (an ICMP black hole), a binary
/// search on probe size to the destination finds the largest size that gets through.
public struct MTUProbe: Probe {
    public static let kind: ProbeKind = .mtu

    public init() {}

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let run = context.start(.mtu)
        let spec = context.spec
        let address: SocketAddressBytes
        switch await Resolver.resolve(host: spec.target.host, family: spec.target.family) {
        case .success(let resolved): address = resolved
        case .failure(let problem): return run.finish(.failed, "mtu: \(problem.message)")
        }
        let options = spec.options.mtu
        let plan = MTUPlan(
            minBytes: options.minBytes > 0 ? options.minBytes : (address.family == AF_INET6 ? 1280 : 576),
            maxBytes: options.maxBytes > 0 ? options.maxBytes : 65535,
            maxHops: max(1, min(64, spec.options.traceroute.maxHops)),
            wait: min(spec.schedule.timeout, .seconds(2)),
            dscp: spec.options.dscp,
            source: spec.options.sourceAddress,
            interface: spec.options.interface
        )
        let outcome = await DedicatedThread.run(name: "mtu") { PathMTU.discover(to: address, plan: plan) }
        switch outcome {
        case .failure(let problem):
            return run.finish(problem.status, "mtu: \(problem.reason)")
        case .success(let result):
            if result.pathMTU != nil { return run.finish(.ok, "", .mtu(result)) }
            return run.finish(
                .failed,
                "mtu: \(address.text) did not answer at any size from \(plan.minBytes) bytes",
                .mtu(result)
            )
        }
    }
}

struct MTUPlan: Sendable {
    var minBytes: Int
    var maxBytes: Int
    var maxHops: Int
    var wait: Duration
    var dscp: Int
    var source: String
    var interface: String
}

enum PathMTU {
    static func discover(to address: SocketAddressBytes, plan: MTUPlan) -> Result<MTUProbeResult, SocketUnavailable> {
        let socket: TraceSocket
        switch TraceSocket.open(
            kind: .udp,
            destination: address,
            dscp: plan.dscp,
            source: plan.source,
            interface: plan.interface
        ) {
        case .success(let opened): socket = opened
        case .failure(let problem): return .failure(problem)
        }
        defer { socket.close() }
        guard cswarm_set_pmtu_probe(socket.fd, socket.family, 1) == 0 else {
            return .failure(.init(status: .failed, reason: "cannot set IP_PMTUDISC_PROBE: \(Datagram.errnoText())"))
        }
        let overhead = socket.family == AF_INET6 ? 48 : 28
        // why: start at the first link's MTU, the largest a DF packet can leave with. Not IP_MTU: that
        // is the route's cached path MTU, which would hide the hop where the path narrows.
        let linkMTU = FirstLink.mtu(of: socket.fd) ?? Int(cswarm_path_mtu(socket.fd, socket.family))
        var estimate = min(plan.maxBytes, linkMTU > 0 ? linkMTU : 1500)
        var result = MTUProbeResult()
        result.destination = address.text
        result.method = "IP_PMTUDISC_PROBE walk with rising TTL, ICMP via IP_RECVERR"

        /// One probe of `size` bytes (whole IP packet) at `ttl`: the reply, or nil after `plan.wait`.
        func probe(ttl: Int, size: Int, index: Int) -> TraceSocket.Reply? {
            sentAt = Datagram.realtimeNanos()
            let rc = socket.send(ttl: ttl, index: index, size: size - overhead)
            if rc == EMSGSIZE {
                let local = Int(cswarm_path_mtu(socket.fd, socket.family))
                return .init(
                    ttl: ttl,
                    index: index,
                    from: "",
                    receivedAt: 0,
                    icmpType: nil,
                    icmpCode: nil,
                    mtu: local > 0 && local < size ? local : size - 1,
                    fromDestination: false,
                    isLocalError: true
                )
            }
            let deadline = ContinuousClock.now + plan.wait
            while ContinuousClock.now < deadline {
                guard Datagram.waitReadable(socket.fd, timeout: deadline - ContinuousClock.now) else { continue }
                if let reply = socket.drain().first(where: { $0.ttl == ttl && $0.index == index }) { return reply }
            }
            return nil
        }

        var index = 0
        var sentAt: Int64 = 0
        var ttl = 1
        var reached = false
        var tries = 0
        while ttl <= plan.maxHops && !reached {
            index = (index + 1) % 256
            guard let reply = probe(ttl: ttl, size: estimate, index: index) else {
                tries += 1
                if tries < 2 { continue }
                var silent = TracerouteHop(ttl: ttl)
                silent.probesSent = tries
                result.hops.append(silent)
                tries = 0
                ttl += 1
                continue
            }
            tries = 0
            if let mtu = reply.mtu, mtu < estimate, mtu >= plan.minBytes {
                // The packet was too big here: note who said so and retry this TTL at the new size.
                estimate = mtu
                if !reply.isLocalError {
                    result.dropHopAddress = reply.from
                    result.dropHopTTL = ttl
                }
                continue
            }
            var hop = TracerouteHop(ttl: ttl)
            hop.address = reply.from
            hop.probesSent = 1
            hop.rtts = [.nanoseconds(max(0, reply.receivedAt - sentAt))]
            hop.icmpType = reply.icmpType
            hop.icmpCode = reply.icmpCode
            hop.mtu = estimate
            result.hops.append(hop)
            if reply.fromDestination || reply.from == address.text { reached = true }
            ttl += 1
        }
        if !result.dropHopAddress.isEmpty {
            // why: the router that reports "too big" is the one before the narrow link; its TTL is where it
            // answered as a hop (the report itself came back for a probe sent one TTL further).
            result.dropHopTTL = result.hops.first { $0.address == result.dropHopAddress }?.ttl ?? result.dropHopTTL
        }
        if reached {
            result.pathMTU = estimate
            return .success(result)
        }
        // No answer from the destination at the estimate: search sizes that reach it (TTL 64).
        result.method = "binary search on DF probe size to the destination (the path returns no ICMP)"
        var low = plan.minBytes
        var high = estimate
        var best: Int?
        while low <= high {
            let size = (low + high) / 2
            index = (index + 1) % 256
            if let reply = probe(ttl: 64, size: size, index: index), reply.fromDestination || reply.from == address.text
            {
                best = size
                low = size + 1
            } else {
                high = size - 1
            }
        }
        result.pathMTU = best
        return .success(result)
    }
}

/// The MTU of the interface a connected socket sends through: the interface holding its local
/// address (getifaddrs), read from /sys/class/net/NAME/mtu.
enum FirstLink {
    static func mtu(of fd: Int32) -> Int? {
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        let address = Datagram.numericHost(local)
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let socketAddress = entry.pointee.ifa_addr else { continue }
            let family = Int32(socketAddress.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var storage = sockaddr_storage()
            let size = family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(start: socketAddress, count: size))
            }
            // why: link-local IPv6 addresses print with a %zone suffix; compare the address part.
            let text = Datagram.numericHost(storage).split(separator: "%").first.map(String.init) ?? ""
            guard text == address else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            let path = "/sys/class/net/\(name)/mtu"
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return Int(contents.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return nil
    }
}
