import Logging
import SwarmCore
import SwarmStore
import Synchronization

/// Group commit for result batches: sessions submit batches and await their commit; one loop writes
/// whatever has queued up in a single store call, so 1,000 agents cost far fewer transactions than
/// 1,000 batches would.
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
    }

    private let store: any MeasurementStore
    private let logger: Logger
    private let maxMeasurementsPerCommit: Int
    private let queue = Mutex(Queue())
    /// Wakes the commit loop; one buffered signal is enough because the loop drains the whole queue.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(store: any MeasurementStore, maxMeasurementsPerCommit: Int, logger: Logger) {
        self.store = store
        self.logger = logger
        self.maxMeasurementsPerCommit = max(1, maxMeasurementsPerCommit)
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
        for await _ in wakeups {
            await drainQueue()
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

    /// Stops accepting batches; `run()` returns after committing those already queued.
    func finish() {
        queue.withLock { $0.finished = true }
        wake.finish()
    }

    private func drainQueue() async {
        while true {
            let group: [Job] = queue.withLock { queue in
                var rows = 0
                var count = 0
                for job in queue.jobs {
                    if count > 0 && rows + job.batch.measurements.count > maxMeasurementsPerCommit { break }
                    rows += job.batch.measurements.count
                    count += 1
                }
                defer { queue.jobs.removeFirst(count) }
                return Array(queue.jobs.prefix(count))
            }
            if group.isEmpty { return }
            await commitGroup(group)
        }
    }

    private func commitGroup(_ group: [Job]) async {
        do {
            let results = try await store.commitBatches(group.map(\.batch))
            for (job, result) in zip(group, results) { job.continuation.resume(returning: result) }
        } catch {
            guard group.count > 1 else {
                group[0].continuation.resume(throwing: error)
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
