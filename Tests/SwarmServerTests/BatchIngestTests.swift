import Foundation
import Logging
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Synchronization
import Testing

@testable import SwarmServer

@Suite(.timeLimit(.minutes(1))) struct BatchIngestTests {
    let agent = AgentName.fixture("a1")

    func batch(_ id: UInt64, test: TestID) -> IncomingBatch {
        IncomingBatch(
            agent: agent,
            batchID: id,
            measurements: [
                MeasurementRecord(
                    testID: test,
                    revision: 1,
                    agent: agent,
                    sequence: id,
                    kind: .system,
                    startedAt: Timestamp(unixNanos: Int64(id)),
                    duration: .zero,
                    status: .ok
                )
            ]
        )
    }

    @Test("concurrent batches are committed, each acknowledged with its own result")
    func groupCommit() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let test = try await store.createTest(TestSpec(name: "t", probes: [.system]), agents: [agent])
            try await store.recordSessionStart(
                SessionStart(agent: agent, sessionID: "s", agentVersion: "t", host: HostFacts(), at: .now())
            )
            let ingest = BatchIngest(store: store, maxMeasurementsPerCommit: 3, logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await ingest.run() }
                let results = try await withThrowingTaskGroup(of: BatchCommitResult.self) { commits in
                    for id in 1...20 { commits.addTask { try await ingest.commit(batch(UInt64(id), test: test.id)) } }
                    commits.addTask { try await ingest.commit(batch(5, test: test.id)) }  // a replay
                    var all: [BatchCommitResult] = []
                    for try await result in commits { all.append(result) }
                    return all
                }
                ingest.finish()
                try await group.waitForAll()
                #expect(results.count == 21)
                #expect(results.filter(\.duplicate).count == 1)
                #expect(Set(results.map(\.batchID)) == Set(1...20))
            }
            #expect(try await store.measurementCount(test: test.id) == 20)
        }
    }

    /// A real SQLite store that says it takes `concurrentCommits` at once and records how many of
    /// its commits overlapped (each held 50 ms, so queued batches pile up behind them).
    final class OverlapCountingStore: MeasurementStore {
        let base: SQLiteStore
        let concurrentCommits: Int
        private let state = Mutex((running: 0, most: 0, calls: 0))

        init(_ base: SQLiteStore, concurrentCommits: Int) {
            self.base = base
            self.concurrentCommits = concurrentCommits
        }

        var mostAtOnce: Int { state.withLock { $0.most } }
        var calls: Int { state.withLock { $0.calls } }

        func commitBatches(_ batches: [IncomingBatch]) async throws -> [BatchCommitResult] {
            state.withLock {
                $0.running += 1
                $0.calls += 1
                $0.most = max($0.most, $0.running)
            }
            defer { state.withLock { $0.running -= 1 } }
            try await Task.sleep(for: .milliseconds(50))
            return try await base.commitBatches(batches)
        }

        func lastBatchID(of agent: AgentName) async throws -> UInt64 { try await base.lastBatchID(of: agent) }
        func measurements(
            test: TestID,
            agent: AgentName?,
            range: TimeRange,
            limit: Int,
            newestFirst: Bool
        )
            async throws -> [MeasurementRecord]
        {
            try await base.measurements(test: test, agent: agent, range: range, limit: limit, newestFirst: newestFirst)
        }
        func measurementCount(test: TestID?) async throws -> Int { try await base.measurementCount(test: test) }
        func progress(test: TestID) async throws -> TestProgress { try await base.progress(test: test) }
        func series(_ query: SeriesQuery) async throws -> [SeriesBucket] { try await base.series(query) }
        func latestMeasurements(tests: [TestID], since: Timestamp) async throws -> [MeasurementRecord] {
            try await base.latestMeasurements(tests: tests, since: since)
        }
    }

    @Test("group commits run side by side up to the store's concurrentCommits, and never more", arguments: [1, 3])
    func parallelCommits(writers: Int) async throws {
        try await withTemporaryDirectory { dir in
            let sqlite = try makeTestStore(in: dir)
            let test = try await sqlite.createTest(TestSpec(name: "t", probes: [.system]), agents: [agent])
            try await sqlite.recordSessionStart(
                SessionStart(agent: agent, sessionID: "s", agentVersion: "t", host: HostFacts(), at: .now())
            )
            let store = OverlapCountingStore(sqlite, concurrentCommits: writers)
            // One batch per commit, so 12 batches make 12 commits that could all overlap.
            let ingest = BatchIngest(store: store, maxMeasurementsPerCommit: 1, logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await ingest.run() }
                try await withThrowingTaskGroup(of: BatchCommitResult.self) { commits in
                    for id in 1...12 { commits.addTask { try await ingest.commit(batch(UInt64(id), test: test.id)) } }
                    for try await result in commits { #expect(result.storedCount == 1) }
                }
                ingest.finish()
                try await group.waitForAll()
            }
            #expect(store.calls == 12)
            #expect(store.mostAtOnce == writers, "at most \(writers) commits at once, and that many when batches wait")
            #expect(try await sqlite.measurementCount(test: test.id) == 12)
        }
    }

    @Test("a batch arriving after the commit loop stopped fails at once instead of waiting forever")
    func lateBatch() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let ingest = BatchIngest(store: store, maxMeasurementsPerCommit: 10, logger: Logger(label: "test"))
            // The loop ends by cancellation, as when the server task is torn down.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await ingest.run() }
                group.cancelAll()
            }
            let error = await #expect(throws: StoreError.self) { try await ingest.commit(batch(1, test: TestID(1))) }
            #expect(error?.code == .unavailable)
        }
    }
}
