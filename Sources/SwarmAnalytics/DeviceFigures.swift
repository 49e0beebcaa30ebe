// why: the figures fold SwarmCore observations.
public import SwarmCore

/// A managed device's interface utilisation, errors, drops, CPU and memory over a time window,
/// folded from its `gnmi` results (what the path correlation shows beside a hop).
public struct DeviceFigures: Sendable, Hashable {
    public struct Interface: Sendable, Hashable {
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

        public init(name: String, operStatus: String) {
            self.name = name
            self.operStatus = operStatus
        }
    }

    /// gnmi results in the window.
    public var samples: Int
    public var cpuAveragePercent: Double?
    public var cpuMaxPercent: Double?
    public var memoryUsedPercent: Double?
    public var interfaces: [Interface]
    public var queueDrops: UInt64
    /// The device's newest status in the window ("ok", "failed" …) and its reason.
    public var status: String
    public var reason: String

    public init(
        samples: Int = 0,
        interfaces: [Interface] = [],
        queueDrops: UInt64 = 0,
        status: String = "no results",
        reason: String = ""
    ) {
        self.samples = samples
        self.interfaces = interfaces
        self.queueDrops = queueDrops
        self.status = status
        self.reason = reason
    }

    /// Folds a device's results in the window, oldest first. Only ok `gnmi` results count as
    /// samples; the status and reason are the newest result's, whatever it was.
    public static func fold(oldestFirst results: some Sequence<ProbeObservation>) -> DeviceFigures {
        var figures = DeviceFigures()
        var cpu: [Double] = []
        var interfaces: [String: Interface] = [:]
        var previous: [String: GNMISnapshot.Interface] = [:]
        var previousQueues: [String: UInt64] = [:]
        for result in results {
            figures.status = result.status.rawValue
            figures.reason = result.reason
            guard result.status == .ok, case .gnmi(let s)? = result.result else { continue }
            figures.samples += 1
            if let c = s.cpuPercent { cpu.append(c) }
            if let used = s.memoryUsedBytes, let total = s.memoryTotalBytes, total > 0 {
                figures.memoryUsedPercent = Double(used) / Double(total) * 100
            }
            for i in s.interfaces {
                var f = interfaces[i.name] ?? Interface(name: i.name, operStatus: i.operStatus)
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
