// why: the correlation folds SwarmCore observations.
public import SwarmCore

/// "Managed infrastructure along the path": the hops of a traceroute test, and for every hop whose
/// address belongs to an inventory device, that device (a caller-chosen key: an id, a record) and
/// its figures over the same window.
public struct PathCorrelation<Device: Hashable & Sendable>: Sendable {
    public struct Hop: Sendable {
        public var ttl: Int
        public var address: String
        /// Traceroute runs in the window that saw this address at this TTL.
        public var seen: Int
        public var device: Device?
        public var figures: DeviceFigures?

        public init(ttl: Int, address: String, seen: Int, device: Device? = nil, figures: DeviceFigures? = nil) {
            self.ttl = ttl
            self.address = address
            self.seen = seen
            self.device = device
            self.figures = figures
        }
    }

    /// Traceroute runs read.
    public var runs: Int
    /// By TTL, then the most often seen address first.
    public var hops: [Hop]

    public init(runs: Int, hops: [Hop]) {
        self.runs = runs
        self.hops = hops
    }

    /// Counts every responding (TTL, address) pair over the traceroute results and joins each
    /// address to the device that owns it. Results of other kinds are skipped; a run whose result
    /// could not be read still counts as a run. Figures are attached afterwards, see
    /// ``attach(_:)``, so the caller reads only the devices on the path.
    public static func fold(
        traces: some Sequence<ProbeObservation>,
        devicesByAddress: [String: Device]
    ) -> PathCorrelation {
        var runs = 0
        var seen: [HopKey: Int] = [:]
        for trace in traces where trace.kind == .traceroute {
            runs += 1
            guard case .traceroute(let result)? = trace.result else { continue }
            for hop in result.hops where !hop.address.isEmpty {
                seen[HopKey(ttl: hop.ttl, address: hop.address), default: 0] += 1
            }
        }
        let hops = seen.sorted {
            ($0.key.ttl, -$0.value, $0.key.address) < ($1.key.ttl, -$1.value, $1.key.address)
        }.map { key, count in
            Hop(ttl: key.ttl, address: key.address, seen: count, device: devicesByAddress[key.address])
        }
        return PathCorrelation(runs: runs, hops: hops)
    }

    /// The devices on the path, each once, in hop order.
    public var devices: [Device] {
        var found = Set<Device>()
        return hops.compactMap(\.device).filter { found.insert($0).inserted }
    }

    /// Puts each device's figures beside its hops.
    public mutating func attach(_ figures: [Device: DeviceFigures]) {
        for index in hops.indices {
            if let device = hops[index].device { hops[index].figures = figures[device] }
        }
    }

    struct HopKey: Hashable {
        var ttl: Int
        var address: String
    }
}
