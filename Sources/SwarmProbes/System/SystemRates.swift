// why: the rate functions build SwarmCore's SystemSnapshot parts, and tests in this package call them.
package import SwarmCore

/// Turns two ``SystemCounters`` samples into the rate fields of a ``SystemSnapshot``.
///
/// A counter that went backwards (a device re-created, a counter reset) yields no figure for that
/// device in this run rather than a negative or invented rate; the next run has a clean baseline.
package enum SystemRates {
    /// Busy share of the CPU time that passed between two samples, in percent.
    ///
    /// Nil when no ticks passed (the samples were too close together, or the CPU is offline).
    package static func cpuPercent(from previous: ProcFS.CPUTimes, to current: ProcFS.CPUTimes) -> Double? {
        guard current.total > previous.total else { return nil }
        let total = Double(current.total - previous.total)
        let busy = Double(current.busy) - Double(previous.busy)
        // Multiply before dividing so round figures stay exact (200 of 1000 ticks is 20, not 20.000…4).
        return min(100, max(0, busy * 100 / total))
    }

    /// The per-second rate of a counter, or nil when time did not advance or the counter went back.
    package static func perSecond(from previous: UInt64?, to current: UInt64?, seconds: Double) -> Double? {
        guard let previous, let current, current >= previous, seconds > 0 else { return nil }
        return Double(current - previous) / seconds
    }

    /// Per-core busy percent for each core present in both samples, in core order.
    package static func cores(
        from previous: ProcFS.Stat,
        to current: ProcFS.Stat,
        frequenciesMHz: [Int: Double] = [:]
    ) -> [SystemSnapshot.Core] {
        current.cores.keys.sorted().compactMap { index in
            guard let before = previous.cores[index], let after = current.cores[index],
                let percent = cpuPercent(from: before, to: after)
            else { return nil }
            return SystemSnapshot.Core(core: index, percent: percent, frequencyMHz: frequenciesMHz[index])
        }
    }

    /// Size of a /proc/diskstats sector: always 512 bytes, whatever the device's real sector size.
    static let bytesPerSector: Double = 512

    /// IOPS, bytes per second and utilisation for each disk present in both samples.
    ///
    /// Utilisation is the share of wall time the device had I/O in flight (`io_ticks`), as iostat's
    /// `%util` defines it.
    package static func disks(
        from previous: [ProcFS.DiskCounters],
        to current: [ProcFS.DiskCounters],
        seconds: Double
    ) -> [SystemSnapshot.Disk] {
        guard seconds > 0 else { return [] }
        let before = Dictionary(previous.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return current.compactMap { after in
            guard let old = before[after.name],
                let reads = perSecond(from: old.readsCompleted, to: after.readsCompleted, seconds: seconds),
                let writes = perSecond(from: old.writesCompleted, to: after.writesCompleted, seconds: seconds),
                let sectorsRead = perSecond(from: old.sectorsRead, to: after.sectorsRead, seconds: seconds),
                let sectorsWritten = perSecond(from: old.sectorsWritten, to: after.sectorsWritten, seconds: seconds),
                let busyMillis = perSecond(from: old.ioTicksMillis, to: after.ioTicksMillis, seconds: seconds)
            else { return nil }
            return SystemSnapshot.Disk(
                device: after.name,
                readIOPS: reads,
                writeIOPS: writes,
                readBytesPerSecond: sectorsRead * bytesPerSector,
                writeBytesPerSecond: sectorsWritten * bytesPerSector,
                // Busy milliseconds per second, over 1000 ms per second, as a percent.
                utilisationPercent: min(100, busyMillis / 10)
            )
        }
    }

    /// Byte and packet rates for each interface present in both samples. Errors and drops are the
    /// kernel's cumulative counts, as `ip -s link` shows them. Speed, MTU and state are left for the
    /// caller to fill from /sys.
    package static func interfaces(
        from previous: [ProcFS.InterfaceCounters],
        to current: [ProcFS.InterfaceCounters],
        seconds: Double
    ) -> [SystemSnapshot.Interface] {
        guard seconds > 0 else { return [] }
        let before = Dictionary(previous.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return current.compactMap { after in
            guard let old = before[after.name],
                let rxBytes = perSecond(from: old.rxBytes, to: after.rxBytes, seconds: seconds),
                let txBytes = perSecond(from: old.txBytes, to: after.txBytes, seconds: seconds),
                let rxPackets = perSecond(from: old.rxPackets, to: after.rxPackets, seconds: seconds),
                let txPackets = perSecond(from: old.txPackets, to: after.txPackets, seconds: seconds)
            else { return nil }
            return SystemSnapshot.Interface(
                name: after.name,
                rxBytesPerSecond: rxBytes,
                txBytesPerSecond: txBytes,
                rxPacketsPerSecond: rxPackets,
                txPacketsPerSecond: txPackets,
                rxErrors: after.rxErrors,
                txErrors: after.txErrors,
                rxDrops: after.rxDrops,
                txDrops: after.txDrops
            )
        }
    }

    /// Retransmitted segments as a percent of segments sent between two samples (RetransSegs over
    /// OutSegs, the ratio netstat-based tools report).
    ///
    /// Nil when nothing was sent: 0 of 0 is no evidence either way.
    package static func retransmitPercent(
        from previous: ProcFS.TCPSegmentCounters,
        to current: ProcFS.TCPSegmentCounters
    ) -> Double? {
        guard current.outSegments > previous.outSegments,
            current.retransmittedSegments >= previous.retransmittedSegments
        else { return nil }
        let sent = Double(current.outSegments - previous.outSegments)
        let retransmitted = Double(current.retransmittedSegments - previous.retransmittedSegments)
        return retransmitted * 100 / sent
    }

    /// Fills every rate field of `snapshot` from two samples.
    package static func apply(
        from previous: SystemCounters,
        to current: SystemCounters,
        frequenciesMHz: [Int: Double] = [:],
        into snapshot: inout SystemSnapshot
    ) {
        let seconds = (current.takenAt - previous.takenAt).seconds
        if let before = previous.stat, let after = current.stat {
            if let total = before.total, let now = after.total {
                snapshot.cpuPercent = cpuPercent(from: total, to: now)
            }
            snapshot.cores = cores(from: before, to: after, frequenciesMHz: frequenciesMHz)
            snapshot.contextSwitchesPerSecond = perSecond(
                from: before.contextSwitches,
                to: after.contextSwitches,
                seconds: seconds
            )
            snapshot.interruptsPerSecond = perSecond(from: before.interrupts, to: after.interrupts, seconds: seconds)
        }
        snapshot.disks = disks(from: previous.disks, to: current.disks, seconds: seconds)
        snapshot.interfaces = interfaces(from: previous.interfaces, to: current.interfaces, seconds: seconds)
        if let before = previous.tcpSegments, let after = current.tcpSegments {
            snapshot.tcpRetransmitPercent = retransmitPercent(from: before, to: after)
        }
    }
}
