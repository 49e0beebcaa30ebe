import Foundation
// why: correlation reads a Store and returns SwarmCore/SwarmStore types.
public import SwarmCore
import SwarmProto
public import SwarmStore
import SwiftProtobuf

/// "Managed infrastructure along the path": the hops of a traceroute test, and for every hop whose
/// address belongs to an inventory device, that device's interface utilisation, errors, drops and
/// CPU over the same time window.
public struct PathCorrelation: Sendable {
    public struct Hop: Sendable {
        public var ttl: Int
        public var address: String
        /// Traceroute runs in the window that saw this address at this TTL.
        public var seen: Int
        public var device: DeviceRecord?
        public var figures: DeviceFigures?
    }

    public struct InterfaceFigures: Sendable {
        public var name: String
        public var operStatus: String
        public var inUtilisationMaxPercent: Double?
        public var outUtilisationMaxPercent: Double?
        public var inBitsPerSecondMax: Double?
        public var outBitsPerSecondMax: Double?
        /// Counter growth over the window (resets are skipped, not subtracted).
        public var inErrors: UInt64 = 0
        public var outErrors: UInt64 = 0
        public var inDiscards: UInt64 = 0
        public var outDiscards: UInt64 = 0
    }

    public struct DeviceFigures: Sendable {
        /// gnmi results in the window.
        public var samples: Int
        public var cpuAveragePercent: Double?
        public var cpuMaxPercent: Double?
        public var memoryUsedPercent: Double?
        public var interfaces: [InterfaceFigures]
        public var queueDrops: UInt64
        /// The device's newest status in the window ("ok", "failed" …) and its reason.
        public var status: String
        public var reason: String
    }

    public var test: TestID
    public var range: TimeRange
    /// Traceroute runs read.
    public var runs: Int
    public var hops: [Hop]

    /// Correlates the traceroute results of `test` in `range` with the inventory's devices.
    public static func correlate(
        test: TestID,
        agent: AgentName?,
        range: TimeRange,
        store: any Store
    ) async throws -> PathCorrelation {
        let traces = try await store.measurements(
            test: test,
            agent: agent,
            range: range,
            limit: 2000,
            newestFirst: true
        )
        .filter { $0.kind == .traceroute }
        var seen: [HopKey: Int] = [:]
        for trace in traces {
            guard let result = try? Streamswarm_Mesh_V1_TracerouteResult(serializedBytes: trace.payload) else {
                continue
            }
            for hop in result.hops where !hop.address.isEmpty {
                seen[HopKey(ttl: Int(hop.ttl), address: hop.address), default: 0] += 1
            }
        }
        var byAddress: [String: DeviceRecord] = [:]
        for device in try await store.devices() {
            for address in device.allAddresses { byAddress[address] = device }
        }
        var figuresByDevice: [Int64: DeviceFigures] = [:]
        var hops: [Hop] = []
        for (key, count) in seen.sorted(by: {
            ($0.key.ttl, -$0.value, $0.key.address) < ($1.key.ttl, -$1.value, $1.key.address)
        }) {
            var hop = Hop(ttl: key.ttl, address: key.address, seen: count)
            if let device = byAddress[key.address] {
                hop.device = device
                if figuresByDevice[device.id] == nil {
                    figuresByDevice[device.id] = try await figures(of: device, range: range, store: store)
                }
                hop.figures = figuresByDevice[device.id]
            }
            hops.append(hop)
        }
        return PathCorrelation(test: test, range: range, runs: traces.count, hops: hops)
    }

    struct HopKey: Hashable {
        var ttl: Int
        var address: String
    }

    static func figures(of device: DeviceRecord, range: TimeRange, store: any Store) async throws -> DeviceFigures? {
        guard let test = device.testID else { return nil }
        let rows = try await store.measurements(test: test, agent: nil, range: range, limit: 5000, newestFirst: false)
        var figures = DeviceFigures(
            samples: 0,
            interfaces: [],
            queueDrops: 0,
            status: rows.last?.status.rawValue ?? "no results",
            reason: rows.last?.reason ?? ""
        )
        var cpu: [Double] = []
        var interfaces: [String: InterfaceFigures] = [:]
        var previous: [String: GNMISnapshot.Interface] = [:]
        var previousQueues: [String: UInt64] = [:]
        for row in rows where row.status == .ok {
            guard let s = try? MeasurementEncoding.decodeGNMI(row.payload) else { continue }
            figures.samples += 1
            if let c = s.cpuPercent { cpu.append(c) }
            if let used = s.memoryUsedBytes, let total = s.memoryTotalBytes, total > 0 {
                figures.memoryUsedPercent = Double(used) / Double(total) * 100
            }
            for i in s.interfaces {
                var f = interfaces[i.name] ?? InterfaceFigures(name: i.name, operStatus: i.operStatus)
                f.operStatus = i.operStatus
                f.inUtilisationMaxPercent = maxOf(f.inUtilisationMaxPercent, i.inUtilisationPercent)
                f.outUtilisationMaxPercent = maxOf(f.outUtilisationMaxPercent, i.outUtilisationPercent)
                f.inBitsPerSecondMax = maxOf(f.inBitsPerSecondMax, i.inBitsPerSecond)
                f.outBitsPerSecondMax = maxOf(f.outBitsPerSecondMax, i.outBitsPerSecond)
                if let p = previous[i.name] {
                    f.inErrors += growth(p.inErrors, i.inErrors)
                    f.outErrors += growth(p.outErrors, i.outErrors)
                    f.inDiscards += growth(p.inDiscards, i.inDiscards)
                    f.outDiscards += growth(p.outDiscards, i.outDiscards)
                }
                previous[i.name] = i
                interfaces[i.name] = f
            }
            for q in s.queues {
                let key = q.interface + "/" + q.queue
                if let p = previousQueues[key] { figures.queueDrops += growth(p, q.droppedPackets) }
                previousQueues[key] = q.droppedPackets
            }
        }
        if !cpu.isEmpty {
            figures.cpuAveragePercent = cpu.reduce(0, +) / Double(cpu.count)
            figures.cpuMaxPercent = cpu.max()
        }
        figures.interfaces = interfaces.keys.sorted().compactMap { interfaces[$0] }
        return figures
    }

    /// A counter's growth between two samples; 0 across a reset.
    static func growth(_ before: UInt64, _ after: UInt64) -> UInt64 { after >= before ? after - before : 0 }

    static func maxOf(_ a: Double?, _ b: Double?) -> Double? {
        switch (a, b) {
        case (nil, nil): nil
        case (let x?, nil): x
        case (nil, let y?): y
        case (let x?, let y?): max(x, y)
        }
    }
}
