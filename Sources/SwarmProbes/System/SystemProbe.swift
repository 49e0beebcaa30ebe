// why: Probe's requirements (ProbeKind, ProbeObservation) are SwarmCore types.
public import SwarmCore
import Synchronization

/// Measures the host itself from /proc and /sys: CPU, load, memory, disks, processes, sockets,
/// interfaces, sensors and wireless links (shared/METRICS.md, **system**).
///
/// Most figures are rates of kernel counters, so the probe keeps the previous run's counters and
/// reports the change since then. The first run has no previous sample: it takes one, waits a short
/// window and takes another, so even a single run reports rates.
///
/// The reads are tiny procfs files served from kernel memory, so they are done inline rather than on
/// a thread pool. The exception that could block, `statvfs` on a network filesystem, is avoided by
/// not measuring network mounts at all.
public final class SystemProbe: Probe {
    public static let kind: ProbeKind = .system

    /// The longest first-run window; the window is also capped at half the run's timeout.
    static let firstRunWindow: Duration = .seconds(1)

    private let reader: ProcFSReader
    private let previous = Mutex<SystemCounters?>(nil)

    public init() {
        self.reader = ProcFSReader()
    }

    /// A probe reading /proc and /sys below `root` instead of "/" (tests use fake trees).
    package init(root: String) {
        self.reader = ProcFSReader(root: root)
    }

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let startedAt = Timestamp.now()
        let clock = ContinuousClock()
        let began = clock.now

        guard reader.contents("proc/stat") != nil || reader.contents("proc/meminfo") != nil else {
            return context.observation(
                kind: Self.kind,
                startedAt: startedAt,
                duration: clock.now - began,
                status: .failed,
                reason: "cannot read \(reader.path("proc/stat")) or \(reader.path("proc/meminfo")): "
                    + "procfs is not mounted or not readable on this host"
            )
        }

        let options = context.spec.options.system
        let baseline: SystemCounters
        // A stored sample without process ticks (the option was just turned on) cannot be a baseline
        // for a process summary: take a fresh one, as on a first run.
        if let stored = previous.withLock({ $0 }), stored.processes != nil || !options.perProcessSummary {
            baseline = stored
        } else {
            baseline = reader.readCounters(processes: options.perProcessSummary)
            let window = min(Self.firstRunWindow, context.spec.schedule.timeout / 2)
            // try?: cancellation only shortens the window; rates are computed over the time that passed.
            try? await Task.sleep(for: window)
        }
        let current = reader.readCounters(processes: options.perProcessSummary)
        previous.withLock { $0 = current }

        let (snapshot, unreadable) = reader.makeSnapshot(previous: baseline, current: current, options: options)
        let reason =
            unreadable.isEmpty ? "" : "could not read \(unreadable.joined(separator: ", ")); those figures are absent"
        return context.observation(
            kind: Self.kind,
            startedAt: startedAt,
            duration: clock.now - began,
            status: .ok,
            reason: reason,
            result: .system(snapshot)
        )
    }
}
