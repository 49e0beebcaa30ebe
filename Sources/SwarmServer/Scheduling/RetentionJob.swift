// why: a Service the CLI adds to its ServiceGroup; it takes a store, a Logger and SwarmCore times.
public import Logging
public import ServiceLifecycle
public import SwarmCore
public import SwarmStore

/// Rolls raw measurements up into 1-minute and 1-hour aggregates as their buckets close, and
/// removes what the retention periods (settings `retention.*Days`) no longer keep.
///
/// Every store call is idempotent and transactional, so a crash at any moment loses nothing: the
/// next pass starts from the watermarks the last committed pass left.
public struct RetentionJob: Service {
    private let store: any RetentionStore
    private let logger: Logger
    private let interval: Duration
    /// A bucket is rolled up this long after it ended, so measurements still in flight are in it.
    private let grace: Duration
    private let pruneEvery: Int

    public init(
        store: any RetentionStore,
        logger: Logger,
        interval: Duration = .seconds(30),
        grace: Duration = .seconds(90),
        pruneEvery: Int = 20
    ) {
        self.store = store
        self.logger = logger
        self.interval = interval
        self.grace = grace
        self.pruneEvery = max(1, pruneEvery)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var pass = 0
        while !Task.isCancelled {
            do {
                try await runOnce(now: .now(), prune: pass % pruneEvery == 0)
            } catch {
                if Task.isCancelled { return }
                logger.warning("retention: \(error); retrying in \(interval)")
            }
            pass += 1
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// One pass: rolls up every closed bucket (a day of history per store call, with a progress
    /// line while catching up), then prunes when asked. Returns what the pass did.
    @discardableResult
    public func runOnce(
        now: Timestamp,
        prune: Bool = true
    ) async throws -> (rollups: RollupReport, pruned: PruneReport?) {
        var report = try await store.rollUp(closedBefore: now - grace, maxSpan: .seconds(86_400))
        while !report.caughtUp, !Task.isCancelled {
            logger.info(
                "retention: rolling up history, minute rollups complete through \(report.watermarks[.minute].map { "\($0)" } ?? "-")"
            )
            report = try await store.rollUp(closedBefore: now - grace, maxSpan: .seconds(86_400))
        }
        if report.lateBuckets > 0 {
            logger.info("retention: \(report.lateBuckets) buckets rolled up again for measurements that arrived late")
        }
        guard prune else { return (report, nil) }
        let policy = try await RetentionPolicy.load(from: store)
        let pruned = try await store.prune(policy, now: now)
        if pruned.raw + pruned.minute + pruned.hour > 0 {
            let removed = "\(pruned.raw) raw measurements, \(pruned.minute) minute and \(pruned.hour) hour rollups"
            logger.info("retention (\(policy)): removed \(removed)")
        }
        return (report, pruned)
    }
}
