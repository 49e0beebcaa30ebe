import Logging
import SwarmCore
import SwarmStore
import Synchronization

/// Group commit for result batches: sessions submit batches and await their commit; one loop writes
/// whatever has queued up in a single store call, so 1,000 agents cost far fewer transactions than
/// 1,000 batches would. Up to the store's ``MeasurementStore/concurrentCommits`` such calls run at
/// once (one on SQLite, whose single writer would only queue a second).
///
/// Each batch stays atomic and idempotent (the store guarantees it per batch). If a group fails,
/// its batches are retried one by one so a single bad batch cannot fail the others.
final class BatchIngest: Sendable {
    private struct Job: Sendable {
        let batch: IncomingBatch
        let continuation: CheckedContinuation<BatchCommitResult, any Error>
    }

    private struct Queue {
        var jobs: [Job] = []
        var finished = false
        /// Group commits running now.
        var active = 0
    }

    private let store: any MeasurementStore
    private let logger: Logger
    private let maxMeasurementsPerCommit: Int
    private let writers: Int
    private let queue = Mutex(Queue())
    /// Wakes the commit loop; one buffered signal is enough because the loop drains the whole queue.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(store: any MeasurementStore, maxMeasurementsPerCommit: Int, logger: Logger) {
        self.store = store
        self.logger = logger
        self.maxMeasurementsPerCommit = max(1, maxMeasurementsPerCommit)
        writers = max(1, store.concurrentCommits)
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Commits a batch (with others that queued at the same time) and returns once it is durable.
    func commit(_ batch: IncomingBatch) async throws -> BatchCommitResult {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = queue.withLock { queue in
                guard !queue.finished else { return false }
                queue.jobs.append(Job(batch: batch, continuation: continuation))
                return true
            }
            if accepted {
                wake.yield()
            } else {
                continuation.resume(
                    throwing: StoreError(
                        code: .unavailable,
                        message: "the server is shutting down; the agent will resend the batch"
                    )
                )
            }
        }
    }

    /// Runs the commit loop until ``finish()``; then commits what is queued and returns.
    func run() async {
        if writers == 1 {
            // One writer: commit inline, group after group, with no task per commit.
            for await _ in wakeups { await drainQueue() }
        } else {
            await runParallel()
        }
        await drainQueue()
        // Nothing commits after this point (finished, or the server task was cancelled): refuse
        // late arrivals and fail what is still queued, so no session waits for an ack forever.
        let leftovers = queue.withLock { queue in
            queue.finished = true
            defer { queue.jobs.removeAll() }
            return queue.jobs
        }
        for job in leftovers {
            job.continuation.resume(
                throwing: StoreError(
                    code: .unavailable,
                    message: "the server is shutting down; the agent will resend the batch"
                )
            )
        }
    }

    /// Up to `writers` group commits at once, each in a task of its own.
    private func runParallel() async {
        await withDiscardingTaskGroup { group in
            for await _ in wakeups {
                // A finished commit wakes the loop again, which takes what queued meanwhile.
                while let jobs = takeGroup(belowActive: writers) {
                    group.addTask {
                        await self.commitGroup(jobs)
                        self.queue.withLock { $0.active -= 1 }
                        self.wake.yield()
                    }
                }
            }
        }
    }

    /// Stops accepting batches; `run()` returns after committing those already queued.
    func finish() {
        queue.withLock { $0.finished = true }
        wake.finish()
    }

    /// Commits what is queued, one group after another.
    private func drainQueue() async {
        while let group = takeGroup(belowActive: Int.max) {
            await commitGroup(group)
            queue.withLock { $0.active -= 1 }
        }
    }

    /// The next group (as many queued batches as fit one commit), counted as active, when fewer
    /// than `limit` commits run and anything is queued.
    private func takeGroup(belowActive limit: Int) -> [Job]? {
        queue.withLock { queue in
            guard queue.active < limit, !queue.jobs.isEmpty else { return nil }
            var rows = 0
            var count = 0
            for job in queue.jobs {
                if count > 0 && rows + job.batch.measurements.count > maxMeasurementsPerCommit { break }
                rows += job.batch.measurements.count
                count += 1
            }
            defer { queue.jobs.removeFirst(count) }
            queue.active += 1
            return Array(queue.jobs.prefix(count))
        }
    }

    private func commitGroup(_ group: [Job]) async {
        do {
            let results = try await store.commitBatches(group.map(\.batch))
            for (job, result) in zip(group, results) { job.continuation.resume(returning: result) }
        } catch {
            // Stopping: one-by-one retries would only be cancelled too; the agents resend.
            guard group.count > 1, !Task.isCancelled else {
                for job in group { job.continuation.resume(throwing: error) }
                return
            }
            logger.warning(
                "group commit of \(group.count) batches failed; retrying them one by one",
                metadata: ["swarm.error": "\(error)"]
            )
            for job in group {
                do {
                    let result = try await store.commitBatches([job.batch])
                    job.continuation.resume(returning: result[0])
                } catch {
                    job.continuation.resume(throwing: error)
                }
            }
        }
    }
}
