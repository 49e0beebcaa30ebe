/// The cumulative kernel counters of one moment, kept between runs so the next run can turn them
/// into rates.
///
/// Only counters live here; figures that are already levels (memory, load, mounts) are read fresh by
/// each run and never need a previous value.
package struct SystemCounters: Sendable {
    /// When the counters were read, on the monotonic clock so a wall-clock step cannot distort a rate.
    package var takenAt: ContinuousClock.Instant
    package var stat: ProcFS.Stat?
    /// Whole disks only: partitions, loop devices and RAM disks are filtered out when reading.
    package var disks: [ProcFS.DiskCounters]
    package var interfaces: [ProcFS.InterfaceCounters]
    package var tcpSegments: ProcFS.TCPSegmentCounters?
    /// Per-process ticks, read only when the test asks for a per-process summary.
    package var processes: [Int: ProcFS.ProcessSample]?
    /// Paths of counter files that could not be read, for the observation's reason.
    package var unreadable: [String]

    package init(
        takenAt: ContinuousClock.Instant,
        stat: ProcFS.Stat? = nil,
        disks: [ProcFS.DiskCounters] = [],
        interfaces: [ProcFS.InterfaceCounters] = [],
        tcpSegments: ProcFS.TCPSegmentCounters? = nil,
        processes: [Int: ProcFS.ProcessSample]? = nil,
        unreadable: [String] = []
    ) {
        self.takenAt = takenAt
        self.stat = stat
        self.disks = disks
        self.interfaces = interfaces
        self.tcpSegments = tcpSegments
        self.processes = processes
        self.unreadable = unreadable
    }
}
