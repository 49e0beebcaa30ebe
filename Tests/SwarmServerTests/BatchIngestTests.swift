import Foundation
import Logging
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
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
