import Foundation
import Logging
import SwarmCore
import SwarmStore
import SwarmTestSupport
import Testing

@testable import SwarmStoreSQLite

@Suite(.timeLimit(.minutes(1))) struct SQLiteStoreTests {
    let local = AgentName.fixture("local")
    let other = AgentName.fixture("other")

    func record(
        _ test: TestID,
        agent: AgentName,
        sequence: UInt64,
        at nanos: Int64,
        value: Double = 1
    ) -> MeasurementRecord {
        MeasurementRecord(
            testID: test,
            revision: 1,
            agent: agent,
            sequence: sequence,
            kind: .tcp,
            startedAt: Timestamp(unixNanos: nanos),
            duration: .milliseconds(1),
            status: .ok,
            value: value,
            payload: Data([1, 2, 3])
        )
    }

    func session(_ store: SQLiteStore, _ agent: AgentName, id: String = "s1") async throws {
        try await store.recordSessionStart(
            SessionStart(agent: agent, sessionID: id, agentVersion: "t", host: HostFacts(hostname: "h"), at: .now())
        )
    }

    @Test("a batch is stored once however often it is replayed")
    func idempotentIngest() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let test = try await store.createTest(TestSpec(name: "t", probes: [.system]), agents: [local])
            try await session(store, local)
            let batch = IncomingBatch(
                agent: local,
                batchID: 10,
                measurements: (0..<5).map { record(test.id, agent: local, sequence: UInt64($0), at: Int64($0)) }
            )
            let first = try await store.commitBatches([batch])
            let replay = try await store.commitBatches([batch, batch])
            #expect(first == [BatchCommitResult(batchID: 10, storedCount: 5, duplicate: false)])
            #expect(replay.allSatisfy { $0.duplicate && $0.storedCount == 0 })
            #expect(try await store.measurementCount(test: test.id) == 5)
        }
    }

    @Test("a batch id re-used for other measurements is reported, never acked as a duplicate")
    func reusedBatchID() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let test = try await store.createTest(TestSpec(name: "t", probes: [.system]), agents: [local])
            try await session(store, local)
            let first = IncomingBatch(
                agent: local,
                batchID: 7,
                measurements: [record(test.id, agent: local, sequence: 1, at: 1)]
            )
            // After an OS crash rolled the agent's spool back, id 7 is handed out again.
            let reused = IncomingBatch(
                agent: local,
                batchID: 7,
                measurements: [
                    record(test.id, agent: local, sequence: 1, at: 1),
                    record(test.id, agent: local, sequence: 2, at: 2),
                ]
            )
            #expect(try await store.commitBatches([first]).first?.storedCount == 1)
            let result = try #require(try await store.commitBatches([reused]).first)
            #expect(result.idReused && !result.duplicate && result.storedCount == 0)
            #expect(try await store.commitBatches([first]).first?.duplicate == true)  // a true replay
            #expect(try await store.lastBatchID(of: local) == 7)
            #expect(try await store.lastBatchID(of: other) == 0)
            // Renumbered, the batch is stored; the measurement both carried is stored once.
            let renumbered = IncomingBatch(agent: local, batchID: 8, measurements: reused.measurements)
            #expect(try await store.commitBatches([renumbered]).first?.storedCount == 2)
            #expect(try await store.measurementCount(test: test.id) == 2)
        }
    }

    @Test("results measured while a test was assigned are stored after it moved to other agents")
    func assignmentHistory() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            try await session(store, local)
            try await session(store, other, id: "s2")
            let test = try await store.createTest(TestSpec(name: "t", probes: [.system]), agents: [local])
            let measuredWhileAssigned = Timestamp.now().unixNanos
            _ = try await store.reassignTest(test.id, agents: [other])
            let batch = IncomingBatch(
                agent: local,
                batchID: 1,
                measurements: [
                    record(test.id, agent: local, sequence: 1, at: measuredWhileAssigned),
                    // Long after the move (beyond any clock slack): refused.
                    record(test.id, agent: local, sequence: 2, at: measuredWhileAssigned + 3_600_000_000_000),
                    // Long before it was ever assigned: refused.
                    record(test.id, agent: local, sequence: 3, at: measuredWhileAssigned - 3_600_000_000_000),
                ]
            )
            let result = try #require(try await store.commitBatches([batch]).first)
            #expect(result.storedCount == 1)
            #expect(result.rejectedCount == 2)
            #expect(try await store.measurementCount(test: test.id) == 1)
        }
    }

    @Test("the database directory is 0700 and its files 0600; an existing world-readable file is narrowed")
    func privateFiles() async throws {
        try await withTemporaryDirectory { dir in
            let path = "\(dir)/data/store.sqlite"
            let store = try SQLiteStore(configuration: .init(path: path), logger: .init(label: "t"))
            try await session(store, local)
            func mode(_ file: String) throws -> Int {
                (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int ?? -1) & 0o777
            }
            #expect(try mode("\(dir)/data") == 0o700)
            #expect(try mode(path) == 0o600)
            #expect(try mode(path + "-wal") == 0o600)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            _ = try SQLiteStore(configuration: .init(path: path), logger: .init(label: "t"))
            #expect(try mode(path) == 0o600)
        }
    }

    @Test("an agent cannot write results into a test it is not assigned")
    func onlyOwnTests() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let mine = try await store.createTest(TestSpec(name: "mine", probes: [.system]), agents: [local])
            let theirs = try await store.createTest(TestSpec(name: "theirs", probes: [.system]), agents: [other])
            try await session(store, local)
            let batch = IncomingBatch(
                agent: local,
                batchID: 1,
                measurements: [
                    record(mine.id, agent: local, sequence: 1, at: 1),
                    record(theirs.id, agent: local, sequence: 2, at: 2),
                ]
            )
            let result = try await store.commitBatches([batch])
            #expect(result.first?.storedCount == 1)
            #expect(result.first?.rejectedCount == 1)
            #expect(try await store.measurementCount(test: theirs.id) == 0)
        }
    }

    @Test("measurements are read back by test, agent and half-open time range, oldest first")
    func timeRange() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let test = try await store.createTest(TestSpec(name: "t", probes: [.system]), agents: [local, other])
            try await session(store, local)
            try await session(store, other, id: "s2")
            _ = try await store.commitBatches([
                IncomingBatch(
                    agent: local,
                    batchID: 1,
                    measurements: (0..<10).map {
                        record(test.id, agent: local, sequence: UInt64($0), at: Int64(9 - $0) * 100)
                    }
                ),
                IncomingBatch(
                    agent: other,
                    batchID: 1,
                    measurements: [record(test.id, agent: other, sequence: 1, at: 250)]
                ),
            ])
            let range = TimeRange(from: Timestamp(unixNanos: 200), to: Timestamp(unixNanos: 500))
            let rows = try await store.measurements(test: test.id, agent: local, range: range, limit: 100)
            #expect(rows.map(\.startedAt.unixNanos) == [200, 300, 400])
            let newest = try await store.measurements(
                test: test.id,
                agent: local,
                range: .all,
                limit: 2,
                newestFirst: true
            )
            #expect(newest.map(\.startedAt.unixNanos) == [900, 800])
            let both = try await store.measurements(test: test.id, agent: nil, range: range, limit: 100)
            #expect(both.count == 4)
            #expect(both.first?.payload == Data([1, 2, 3]))
        }
    }

    @Test("revisions, cancellation and active assignments")
    func lifecycle() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let created = try await store.createTest(TestSpec(name: "a", probes: [.system]), agents: [local])
            #expect(created.revision == 1 && created.state == .active)
            let revised = try await store.reviseTest(
                created.id,
                spec: TestSpec(name: "b", probes: [.system], schedule: .init(interval: .seconds(5)))
            )
            #expect(revised.revision == 2 && revised.spec.name == "b")
            #expect(try await store.activeAssignments(for: local).map(\.revision) == [2])
            #expect(try await store.activeAssignments(for: other).isEmpty)
            let cancelled = try await store.cancelTest(created.id)
            #expect(cancelled.state == .cancelled)
            #expect(try await store.activeAssignments(for: local).isEmpty)
            let error = await #expect(throws: StoreError.self) {
                try await store.reviseTest(created.id, spec: TestSpec(name: "c", probes: [.system]))
            }
            #expect(error?.code == .conflict)
        }
    }

    @Test("invalid specs are refused with a message and nothing is stored")
    func invalidSpec() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let error = await #expect(throws: StoreError.self) {
                try await store.createTest(
                    TestSpec(name: "x", probes: [.tcp], target: .init(host: "h")),
                    agents: [local]
                )
            }
            #expect(error?.code == .invalidInput)
            #expect(error?.message.contains("host and port") == true)
            #expect(try await store.tests().isEmpty)
        }
    }

    @Test("a replaced session cannot mark the agent offline; the current one can, with the time")
    func offlineGuard() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            try await session(store, local, id: "old")
            try await session(store, local, id: "new")
            try await store.markOffline(local, sessionID: "old", at: Timestamp(unixNanos: 5))
            #expect(try await store.agent(local)?.online == true)
            try await store.markOffline(local, sessionID: "new", at: Timestamp(unixNanos: 7))
            let agent = try #require(try await store.agent(local))
            #expect(!agent.online && agent.wentOfflineAt == Timestamp(unixNanos: 7))
        }
    }

    @Test("heartbeat status is written in one call for many agents")
    func status() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            try await session(store, local)
            try await store.recordAgentStatus([
                AgentStatusUpdate(
                    agent: local,
                    lastSeen: Timestamp(unixNanos: 99),
                    load: LoadSnapshot(load1: 1.5, spoolDepth: 3)
                )
            ])
            let agent = try #require(try await store.agent(local))
            #expect(agent.lastSeen == Timestamp(unixNanos: 99) && agent.load?.spoolDepth == 3)
        }
    }

    @Test("a test created by another process reaches this one's feed, with its agents, while run() goes")
    func crossProcessChanges() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = SQLiteStore.Configuration(path: "\(dir)/test.sqlite")
            configuration.changePollInterval = .milliseconds(20)
            let server = try SQLiteStore(configuration: configuration, logger: Logger(label: "t"))
            let cli = try makeTestStore(in: dir)  // a second connection, as the CLI process would open
            let changes = server.changes.subscribe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                let created = try await cli.createTest(TestSpec(name: "t", probes: [.system]), agents: [local])
                var iterator = changes.makeAsyncIterator()
                let change = await iterator.next()
                #expect(change == .assignmentsChanged(test: created.id, agents: [local]))
                group.cancelAll()
            }
        }
    }

    @Test("a handle that fell behind pruned change-log rows is told to reconcile everything")
    func prunedChanges() async throws {
        try await withTemporaryDirectory { dir in
            let server = try makeTestStore(in: dir)
            let cli = try makeTestStore(in: dir)
            let changes = server.changes.subscribe()
            // Given: two changes the server has not read yet, pruned by another handle.
            _ = try await cli.createTest(TestSpec(name: "a", probes: [.system]), agents: [local])
            _ = try await cli.createTest(TestSpec(name: "b", probes: [.system]), agents: [local])
            let cutoff = Timestamp.now()
            let kept = try await cli.createTest(TestSpec(name: "c", probes: [.system]), agents: [local])
            #expect(try await cli.pruneChanges(olderThan: cutoff) == 2, "rows at or after the cutoff stay")
            #expect(try await cli.pruneChanges(olderThan: cutoff) == 0)
            // When: the server reads the log.
            #expect(try await server.pollChanges() == 2)
            // Then: a reconcile-everything hint, then what is still there; a second read finds nothing.
            var iterator = changes.makeAsyncIterator()
            #expect(await iterator.next() == .testsChanged)
            #expect(await iterator.next() == .assignmentsChanged(test: kept.id, agents: [local]))
            #expect(try await server.pollChanges() == 0)
        }
    }

    @Test("a handle's own changes are published once, in-process, and never again by its poller")
    func ownChangesOnce() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let changes = store.changes.subscribe()
            let created = try await store.createTest(TestSpec(name: "t", probes: [.system]), agents: [local])
            var iterator = changes.makeAsyncIterator()
            #expect(await iterator.next() == .assignmentsChanged(test: created.id, agents: [local]))
            #expect(try await store.pollChanges() == 0)
        }
    }

    @Test("one group commit logs one measurementsStored per (test, agent), however many batches it holds")
    func measurementChangesPerCommit() async throws {
        try await withTemporaryDirectory { dir in
            let server = try makeTestStore(in: dir)
            let ingest = try makeTestStore(in: dir)
            let test = try await ingest.createTest(TestSpec(name: "t", probes: [.system]), agents: [local, other])
            try await session(ingest, local)
            try await session(ingest, other, id: "s2")
            try await server.pollChanges()  // past the setup
            let changes = server.changes.subscribe()
            _ = try await ingest.commitBatches(
                (1...3).map { n in
                    IncomingBatch(
                        agent: local,
                        batchID: UInt64(n),
                        measurements: [record(test.id, agent: local, sequence: UInt64(n), at: Int64(n))]
                    )
                } + [
                    IncomingBatch(
                        agent: other,
                        batchID: 1,
                        measurements: [record(test.id, agent: other, sequence: 1, at: 1)]
                    )
                ]
            )
            #expect(try await server.pollChanges() == 2)
            var iterator = changes.makeAsyncIterator()
            var seen: Set<StoreChange> = []
            for _ in 0..<2 { if let change = await iterator.next() { seen.insert(change) } }
            #expect(
                seen == [
                    .measurementsStored(test: test.id, agent: local, count: 3),
                    .measurementsStored(test: test.id, agent: other, count: 1),
                ]
            )
        }
    }

    @Test("the database survives reopening with its data")
    func reopen() async throws {
        try await withTemporaryDirectory { dir in
            do {
                let store = try makeTestStore(in: dir)
                _ = try await store.createTest(TestSpec(name: "kept", probes: [.system]), agents: [local])
            }
            let again = try makeTestStore(in: dir)
            #expect(try await again.tests().map(\.spec.name) == ["kept"])
        }
    }
}
