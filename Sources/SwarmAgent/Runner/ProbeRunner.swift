// why: the public init takes a Logger.
public import Logging
// why: assignments and spec checks use SwarmCore types.
public import SwarmCore
import SwarmGNMI
// why: the runner shares a ResponderKeyring with the agent's responders.
public import SwarmProbes
import Synchronization

/// Runs every assigned test on its schedule and spools what the probes observe.
///
/// Tests keep running while the agent is disconnected: that is what the spool is for. A new revision
/// of a test replaces the running one; a run that cannot start on time is recorded as `missed`
/// with the reason rather than silently skipped.
public final class ProbeRunner: Sendable {
    private struct Running {
        var revision: Int
        var signal: StopSignal
    }

    private enum Command: Sendable {
        case start(TestAssignment, StopSignal)
    }

    private let spool: Spool
    private let logger: Logger
    private let onAppended: @Sendable () -> Void
    private let running = Mutex<[TestID: Running]>([:])
    private let commands: AsyncStream<Command>
    private let commandSink: AsyncStream<Command>.Continuation
    /// At most this many `missed` records are written for one late start.
    private let maxMissedRecords = 10

    /// - Parameter onAppended: Called after observations were spooled (wakes the batch sender).
    /// The swarm's responder key as the server last sent it; udp and bandwidth probes read it per run.
    public let keyring: ResponderKeyring

    public init(
        spool: Spool,
        logger: Logger,
        keyring: ResponderKeyring = ResponderKeyring(),
        onAppended: @escaping @Sendable () -> Void = {}
    ) {
        self.keyring = keyring
        self.spool = spool
        self.logger = logger
        self.onAppended = onAppended
        (commands, commandSink) = AsyncStream.makeStream(of: Command.self)
    }

    /// The probe kinds in `spec` this build cannot run.
    public static func unsupportedKinds(in spec: TestSpec) -> [ProbeKind] {
        spec.probes.filter { $0 != .gnmi && !ProbeCatalog.kinds.contains($0) }
    }

    /// What is running now, as (test, revision).
    public var assignments: [(TestID, Int)] {
        running.withLock { $0.map { ($0.key, $0.value.revision) } }.sorted { $0.0 < $1.0 }
    }

    /// Starts a test, or replaces it when the revision differs. The same revision is a no-op.
    public func apply(_ assignment: TestAssignment) {
        let (old, new) = running.withLock { running -> (StopSignal?, StopSignal?) in
            if let current = running[assignment.testID], current.revision == assignment.revision { return (nil, nil) }
            let signal = StopSignal()
            let old = running[assignment.testID]?.signal
            running[assignment.testID] = Running(revision: assignment.revision, signal: signal)
            return (old, signal)
        }
        old?.stop()
        if let new { commandSink.yield(.start(assignment, new)) }
    }

    /// Makes the running set equal to `snapshot` (the full set the server sent after Welcome).
    public func reconcile(snapshot: [TestAssignment]) {
        let wanted = Set(snapshot.map(\.testID))
        let stale = running.withLock { running in
            running.keys.filter { !wanted.contains($0) }
        }
        for id in stale { stop(id) }
        for assignment in snapshot { apply(assignment) }
    }

    public func stop(_ testID: TestID) {
        let signal = running.withLock { $0.removeValue(forKey: testID)?.signal }
        signal?.stop()
    }

    /// Runs test loops until cancelled or ``finish()``.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await command in commands {
                switch command {
                case .start(let assignment, let signal):
                    group.addTask { await self.runTest(assignment, stop: signal) }
                }
            }
            let signals = running.withLock { running in
                defer { running.removeAll() }
                return running.values.map(\.signal)
            }
            for signal in signals { signal.stop() }
        }
    }

    public func finish() { commandSink.finish() }

    private func runTest(_ assignment: TestAssignment, stop: StopSignal) async {
        let spec = assignment.spec
        var logger = logger
        logger[metadataKey: "swarm.test.id"] = "\(assignment.testID)"
        if spec.probes.contains(.gnmi) {
            await collectDevice(assignment, stop: stop, logger: logger)
            return
        }
        let probes = spec.probes.compactMap { ProbeCatalog.make($0) }
        let context = ProbeContext(testID: assignment.testID, revision: assignment.revision, spec: spec)
        let interval = spec.schedule.interval
        // "continue" recurrence: the same test runs again in each later occurrence window.
        let base = spec.base(fallback: .now())
        var windowEnd = spec.schedule.end
        var next = ContinuousClock.now
        if let start = spec.schedule.start {
            let wait = start - Timestamp.now()
            if wait > .zero { next = next + wait }
        }
        if spec.schedule.randomStartOffset, interval > .zero {
            next = next + .nanoseconds(Int64.random(in: 0..<interval.nanoseconds))
        }
        logger.info("test started (revision \(assignment.revision), every \(interval))")
        while true {
            if await stop.sleep(until: next) == .stopped { break }
            if let end = windowEnd, Timestamp.now() >= end {
                guard let upcoming = continuation(of: spec, base: base) else {
                    logger.info("test reached its end time")
                    break
                }
                logger.info("occurrence done; the next starts at \(upcoming.start)")
                next = ContinuousClock.now + (upcoming.start - Timestamp.now())
                windowEnd = upcoming.end
                continue
            }
            var observations: [ProbeObservation] = []
            let late = ContinuousClock.now - next
            if interval > .zero, late >= interval {
                let slots = Int(late.nanoseconds / interval.nanoseconds)
                for slot in 0..<min(slots, maxMissedRecords) {
                    for kind in spec.probes {
                        observations.append(
                            context.observation(
                                kind: kind,
                                startedAt: Timestamp.now() - (late - interval * slot),
                                duration: .zero,
                                status: .missed,
                                reason:
                                    "run could not start on time: \(late) late (previous run overran or the host was overloaded)"
                            )
                        )
                    }
                }
                next = next + interval * slots
            }
            var runContext = context
            runContext.responderKey = keyring.current
            for probe in probes {
                if !spec.target.agentName.isEmpty && spec.target.host.isEmpty {
                    observations.append(
                        context.observation(
                            kind: type(of: probe).kind,
                            startedAt: .now(),
                            duration: .zero,
                            status: .failed,
                            reason: "mesh peer \(spec.target.agentName) has not advertised a responder address: "
                                + "it has not connected yet, or runs with responders off"
                        )
                    )
                    continue
                }
                observations.append(await probe.run(runContext))
            }
            do {
                try await spool.append(observations)
                onAppended()
            } catch {
                logger.error("could not spool \(observations.count) measurements: \(error)")
            }
            if interval == .zero {
                guard let upcoming = continuation(of: spec, base: base) else { break }
                logger.info("run done; the next occurrence starts at \(upcoming.start)")
                next = ContinuousClock.now + (upcoming.start - Timestamp.now())
                windowEnd = upcoming.end
                continue
            }
            next = next + interval
        }
        logger.info("test stopped")
    }

    /// A gNMI device test: one long-lived collector instead of scheduled runs. It reports on its
    /// own cadence (the test interval) until the test stops.
    private func collectDevice(_ assignment: TestAssignment, stop: StopSignal, logger: Logger) async {
        let spec = assignment.spec
        let gnmi = spec.options.gnmi
        let spool = self.spool
        let onAppended = self.onAppended
        let emit: @Sendable ([ProbeObservation]) async -> Void = { observations in
            do {
                try await spool.append(observations)
                onAppended()
            } catch {
                logger.error("could not spool \(observations.count) gnmi measurements: \(error)")
            }
        }
        guard let connection = gnmi.connection else {
            // The server could not hand the device out; say why on every report until that changes.
            let reason =
                gnmi.unavailableReason.isEmpty
                ? "the server sent no connection for device \(gnmi.deviceID)" : gnmi.unavailableReason
            logger.warning("device \(gnmi.deviceID) unavailable: \(reason)")
            let context = ProbeContext(testID: assignment.testID, revision: assignment.revision, spec: spec)
            let interval = spec.schedule.interval > .zero ? spec.schedule.interval : .seconds(10)
            repeat {
                await emit([
                    context.observation(
                        kind: .gnmi,
                        startedAt: .now(),
                        duration: .zero,
                        status: .failed,
                        reason: reason
                    )
                ])
            } while await stop.sleep(until: .now + interval) != .stopped
            return
        }
        let collector = DeviceCollector(
            testID: assignment.testID,
            revision: assignment.revision,
            deviceID: gnmi.deviceID,
            connection: connection,
            reportInterval: spec.schedule.interval,
            logger: logger
        )
        logger.info("collecting from device \(connection.label) every \(spec.schedule.interval)")
        let task = Task { await collector.run(emit: emit) }
        await stop.wait()
        task.cancel()
        await task.value
        logger.info("device collection stopped")
    }

    /// The next window of a "continue"-mode test ("new"-mode occurrences are child tests the
    /// server creates, so they never continue here).
    private func continuation(of spec: TestSpec, base: Timestamp) -> Occurrence? {
        guard spec.recurrence.mode == .continue else { return nil }
        return spec.nextOccurrence(after: .now(), base: base)
    }
}
