import Foundation
import SwarmCore
import SwarmStore
import Testing

// MeasurementStore: idempotent batch ingest, then range, series and summary reads.
extension StoreConformance {
    static let batchContracts: [Contract] = [
        Contract("batches: a committed batch replayed is a duplicate that stores nothing") {
            let store = $0.store
            try await connect(store, alpha)
            let test = try await store.createTest(spec("t"), agents: [alpha])
            let once = batch(
                alpha,
                10,
                (0..<5).map { measurement(test.id, alpha, sequence: UInt64($0), at: Int64($0)) }
            )
            #expect(
                try await store.commitBatches([once]) == [
                    BatchCommitResult(batchID: 10, storedCount: 5, duplicate: false)
                ]
            )
            let replay = try await store.commitBatches([once, once])
            #expect(
                replay == Array(repeating: BatchCommitResult(batchID: 10, storedCount: 0, duplicate: true), count: 2)
            )
            #expect(try await store.measurementCount(test: test.id) == 5)
            #expect(try await store.commitBatches([]).isEmpty)
        },
        Contract(
            "batches: a batch id re-used with other measurements is idReused, never a duplicate; lastBatchID per agent"
        ) {
            let store = $0.store
            try await connect(store, alpha)
            let test = try await store.createTest(spec("t"), agents: [alpha])
            #expect(try await store.lastBatchID(of: alpha) == 0)
            let first = batch(alpha, 7, [measurement(test.id, alpha, sequence: 1, at: 1)])
            // After an OS crash rolled the agent's spool back, id 7 is handed out again.
            let reused = batch(
                alpha,
                7,
                [measurement(test.id, alpha, sequence: 1, at: 1), measurement(test.id, alpha, sequence: 2, at: 2)]
            )
            #expect(try await store.commitBatches([first]).first?.storedCount == 1)
            let result = try #require(try await store.commitBatches([reused]).first)
            #expect(result.idReused && !result.duplicate && result.storedCount == 0)
            #expect(try await store.commitBatches([first]).first?.duplicate == true, "a true replay")
            #expect(try await store.lastBatchID(of: alpha) == 7)
            #expect(try await store.lastBatchID(of: beta) == 0)
            // Renumbered, the batch is stored; the measurement both carried is stored once.
            let renumbered = batch(alpha, 8, reused.measurements)
            #expect(try await store.commitBatches([renumbered]).first?.storedCount == 2)
            #expect(try await store.measurementCount(test: test.id) == 2)
            #expect(try await store.lastBatchID(of: alpha) == 8)
            // Batch ids are 64-bit unsigned on the wire: the top bit survives.
            let high = batch(alpha, UInt64.max - 1, [measurement(test.id, alpha, sequence: 3, at: 3)])
            #expect(try await store.commitBatches([high]).first?.storedCount == 1)
            #expect(try await store.lastBatchID(of: alpha) == UInt64.max - 1)
        },
        Contract("batches: measurements of tests the agent is not assigned are rejected, the rest stored") {
            let store = $0.store
            let mine = try await store.createTest(spec("mine"), agents: [alpha])
            let theirs = try await store.createTest(spec("theirs"), agents: [beta])
            try await connect(store, alpha)
            let result = try await store.commitBatches([
                batch(
                    alpha,
                    1,
                    [
                        measurement(mine.id, alpha, sequence: 1, at: 1),
                        measurement(theirs.id, alpha, sequence: 2, at: 2),
                        measurement(TestID(9_999), alpha, sequence: 3, at: 3),
                    ]
                )
            ])
            #expect(result == [BatchCommitResult(batchID: 1, storedCount: 1, rejectedCount: 2, duplicate: false)])
            #expect(try await store.measurementCount(test: theirs.id) == 0)
            #expect(try await store.measurementCount(test: mine.id) == 1)
        },
        Contract("batches: several batches of several agents in one call each get a result, in order") {
            let store = $0.store
            try await connect(store, alpha)
            try await connect(store, beta, session: "s2")
            let test = try await store.createTest(spec("t"), agents: [alpha, beta])
            let results = try await store.commitBatches([
                batch(alpha, 1, [measurement(test.id, alpha, sequence: 1, at: 1)]),
                batch(
                    beta,
                    1,
                    [measurement(test.id, beta, sequence: 1, at: 1), measurement(test.id, beta, sequence: 2, at: 2)]
                ),
                batch(alpha, 1, [measurement(test.id, alpha, sequence: 1, at: 1)]),  // a replay inside the group
                batch(alpha, 2, []),
            ])
            #expect(
                results == [
                    BatchCommitResult(batchID: 1, storedCount: 1, duplicate: false),
                    BatchCommitResult(batchID: 1, storedCount: 2, duplicate: false),
                    BatchCommitResult(batchID: 1, storedCount: 0, duplicate: true),
                    BatchCommitResult(batchID: 2, storedCount: 0, duplicate: false),
                ]
            )
            #expect(try await store.measurementCount(test: test.id) == 3)
            #expect(try await store.lastBatchID(of: alpha) == 2)
            #expect(try await store.lastBatchID(of: beta) == 1)
        },
        Contract("batches: a batch from an agent that never said Hello is refused and nothing of the group is stored") {
            let store = $0.store
            try await connect(store, alpha)
            let test = try await store.createTest(spec("t"), agents: [alpha, gamma])
            await expectStoreError(.notFound) {
                _ = try await store.commitBatches([
                    batch(alpha, 1, [measurement(test.id, alpha, sequence: 1, at: 1)]),
                    batch(AgentName.fixture("stranger"), 1, [measurement(test.id, alpha, sequence: 2, at: 2)]),
                ])
            }
            #expect(try await store.measurementCount(test: nil) == 0)
            #expect(try await store.lastBatchID(of: alpha) == 0)
        },
    ]

    static let measurementContracts: [Contract] = [
        Contract("measurements: read by test, agent and half-open range, oldest first, with a limit or newest first") {
            let store = $0.store
            try await connect(store, alpha)
            try await connect(store, beta, session: "s2")
            let test = try await store.createTest(spec("t"), agents: [alpha, beta])
            let other = try await store.createTest(spec("other"), agents: [alpha])
            _ = try await store.commitBatches([
                // Sent out of order: reads sort by time.
                batch(
                    alpha,
                    1,
                    (0..<10).map { measurement(test.id, alpha, sequence: UInt64($0), at: Int64(9 - $0) * 100) }
                ),
                batch(beta, 1, [measurement(test.id, beta, sequence: 1, at: 250)]),
                batch(alpha, 2, [measurement(other.id, alpha, sequence: 20, at: 300)]),
            ])
            let range = TimeRange(from: Timestamp(unixNanos: 200), to: Timestamp(unixNanos: 500))
            let rows = try await store.measurements(test: test.id, agent: alpha, range: range, limit: 100)
            #expect(rows.map(\.startedAt.unixNanos) == [200, 300, 400])
            #expect(rows.allSatisfy { $0.agent == alpha && $0.testID == test.id })
            let both = try await store.measurements(test: test.id, agent: nil, range: range, limit: 100)
            #expect(both.map(\.startedAt.unixNanos) == [200, 250, 300, 400])
            #expect(
                try await store.measurements(test: test.id, agent: nil, range: .all, limit: 2).map(
                    \.startedAt.unixNanos
                ) == [0, 100]
            )
            let newest = try await store.measurements(
                test: test.id,
                agent: alpha,
                range: .all,
                limit: 2,
                newestFirst: true
            )
            #expect(newest.map(\.startedAt.unixNanos) == [900, 800])
            // Every field comes back as it went in.
            let stored = try #require(rows.first)
            #expect(stored == measurement(test.id, alpha, sequence: 7, at: 200))
        },
        Contract("measurements: series buckets aggregate per agent and kind from the range start; kinds filter") {
            let store = $0.store
            try await connect(store, alpha)
            try await connect(store, beta, session: "s2")
            let test = try await store.createTest(spec("t"), agents: [alpha, beta])
            var failed = measurement(test.id, alpha, sequence: 3, at: 1_150, value: 5, status: .failed)
            failed.figures = MeasurementFigures(lossPercent: 50, jitterMicros: 4, low: 4, high: 6)
            var low = measurement(test.id, alpha, sequence: 1, at: 1_010, value: 1)
            low.figures = MeasurementFigures(lossPercent: 0, jitterMicros: 2, low: 0.5, high: 1.5)
            var high = measurement(test.id, alpha, sequence: 2, at: 1_020, value: 3)
            high.figures = MeasurementFigures(lossPercent: 10, jitterMicros: 4, low: 2.5, high: 3.5)
            _ = try await store.commitBatches([
                batch(alpha, 1, [low, high, failed, measurement(test.id, alpha, sequence: 4, at: 1_030, kind: .icmp)]),
                batch(beta, 1, [measurement(test.id, beta, sequence: 1, at: 1_040, value: 7)]),
            ])
            let range = TimeRange(from: Timestamp(unixNanos: 1_000), to: Timestamp(unixNanos: 2_000))
            let buckets = try await store.series(
                SeriesQuery(test: test.id, kinds: [.tcp], range: range, bucket: .nanoseconds(100))
            )
            #expect(
                buckets == [
                    SeriesBucket(
                        agent: alpha,
                        kind: .tcp,
                        start: Timestamp(unixNanos: 1_000),
                        count: 2,
                        okCount: 2,
                        min: 1,
                        avg: 2,
                        max: 3,
                        low: 0.5,
                        high: 3.5,
                        lossPercent: 5,
                        jitterMicros: 3
                    ),
                    SeriesBucket(
                        agent: alpha,
                        kind: .tcp,
                        start: Timestamp(unixNanos: 1_100),
                        count: 1,
                        okCount: 0,
                        min: 5,
                        avg: 5,
                        max: 5,
                        low: 4,
                        high: 6,
                        lossPercent: 50,
                        jitterMicros: 4
                    ),
                    SeriesBucket(
                        agent: beta,
                        kind: .tcp,
                        start: Timestamp(unixNanos: 1_000),
                        count: 1,
                        okCount: 1,
                        min: 7,
                        avg: 7,
                        max: 7
                    ),
                ]
            )
            let alphaOnly = try await store.series(
                SeriesQuery(test: test.id, agent: alpha, range: range, bucket: .nanoseconds(1_000))
            )
            #expect(alphaOnly.map(\.kind) == [.icmp, .tcp] && alphaOnly.map(\.count) == [1, 3])
            let empty = TimeRange(from: Timestamp(unixNanos: 5_000), to: Timestamp(unixNanos: 6_000))
            #expect(try await store.series(SeriesQuery(test: test.id, range: empty, bucket: .seconds(1))).isEmpty)
        },
        Contract("measurements: latest per (test, agent) since a time, progress and counts") {
            let store = $0.store
            try await connect(store, alpha)
            try await connect(store, beta, session: "s2")
            let test = try await store.createTest(spec("t"), agents: [alpha, beta])
            let quiet = try await store.createTest(spec("quiet"), agents: [alpha])
            #expect(try await store.progress(test: test.id) == TestProgress(results: 0, lastResultAt: nil))
            _ = try await store.commitBatches([
                batch(
                    alpha,
                    1,
                    [
                        measurement(test.id, alpha, sequence: 1, at: 100),
                        measurement(test.id, alpha, sequence: 2, at: 300),
                    ]
                ),
                batch(beta, 1, [measurement(test.id, beta, sequence: 1, at: 200)]),
            ])
            let latest = try await store.latestMeasurements(tests: [test.id, quiet.id], since: Timestamp(unixNanos: 0))
            #expect(Set(latest.map { "\($0.agent)@\($0.startedAt.unixNanos)" }) == ["alpha@300", "beta@200"])
            let recent = try await store.latestMeasurements(tests: [test.id], since: Timestamp(unixNanos: 250))
            #expect(recent.map(\.agent) == [alpha])
            #expect(try await store.latestMeasurements(tests: [], since: Timestamp(unixNanos: 0)).isEmpty)
            #expect(
                try await store.progress(test: test.id)
                    == TestProgress(results: 3, lastResultAt: Timestamp(unixNanos: 300))
            )
            #expect(try await store.measurementCount(test: test.id) == 3)
            #expect(try await store.measurementCount(test: quiet.id) == 0)
            #expect(try await store.measurementCount(test: nil) == 3)
        },
    ]
}
