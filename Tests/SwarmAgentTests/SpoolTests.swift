import Foundation
import SwarmAgent
import SwarmCore
import SwarmTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct SpoolTests {
    func observation(_ index: Int) -> ProbeObservation {
        ProbeObservation(
            testID: TestID(1),
            revision: 1,
            kind: .system,
            startedAt: Timestamp(unixNanos: Int64(index)),
            duration: .milliseconds(1),
            status: .failed,
            reason: String(repeating: "x", count: 100)
        )
    }

    @Test("batches, acks and counters survive reopening the spool")
    func durability() async throws {
        try await withTemporaryDirectory { dir in
            let path = "\(dir)/spool.sqlite"
            let firstBatch: Spool.Batch
            do {
                let spool = try Spool(path: path)
                try await spool.append((0..<5).map(observation))
                firstBatch = try #require(try await spool.formBatch(maxMeasurements: 3))
                #expect(firstBatch.measurements.count == 3)
                #expect(try await spool.depth() == 5)
            }
            // A restarted agent finds the unacknowledged batch, under the same id, to replay.
            let spool = try Spool(path: path)
            let replay = try await spool.unacknowledgedBatches()
            #expect(replay.map(\.id) == [firstBatch.id])
            #expect(replay.first?.measurements == firstBatch.measurements)
            let second = try #require(try await spool.formBatch(maxMeasurements: 10))
            #expect(second.id == firstBatch.id + 1 && second.measurements.count == 2)
            try await spool.acknowledge(firstBatch.id)
            #expect(try await spool.depth() == 2)
            #expect(try await spool.lastAcknowledgedBatchID() == firstBatch.id)
            #expect(try await spool.formBatch(maxMeasurements: 10) == nil)
            let range = try await spool.sequenceRange()
            #expect(range.count == 5)
        }
    }

    @Test("a new spool starts its ids at the current time, so a deleted spool never reuses an acked id")
    func idsFromTime() async throws {
        try await withTemporaryDirectory { dir in
            let before = UInt64(Timestamp.now().unixNanos / 1000)
            let spool = try Spool(path: "\(dir)/spool.sqlite")
            try await spool.append([observation(1)])
            let batch = try #require(try await spool.formBatch(maxMeasurements: 1))
            #expect(batch.id >= before)
        }
    }

    @Test("batches respect a byte budget but always carry at least one measurement")
    func byteBudget() async throws {
        try await withTemporaryDirectory { dir in
            let spool = try Spool(path: "\(dir)/spool.sqlite")
            try await spool.append((0..<10).map(observation))
            let small = try #require(try await spool.formBatch(maxMeasurements: 100, maxBytes: 300))
            #expect(small.measurements.count == 2)
            let tiny = try #require(try await spool.formBatch(maxMeasurements: 100, maxBytes: 1))
            #expect(tiny.measurements.count == 1)
        }
    }

    @Test("a batch the server refused as invalid is discarded, nothing else")
    func discard() async throws {
        try await withTemporaryDirectory { dir in
            let spool = try Spool(path: "\(dir)/spool.sqlite")
            try await spool.append((0..<4).map(observation))
            let bad = try #require(try await spool.formBatch(maxMeasurements: 3))
            #expect(try await spool.discard(bad.id) == 3)
            #expect(try await spool.depth() == 1)
            #expect(try await spool.unacknowledgedBatches().isEmpty)
        }
    }

    @Test("an unwritable spool path gives an error naming it")
    func badPath() throws {
        let error = #expect(throws: SpoolError.self) { try Spool(path: "/proc/no-such-dir/spool.sqlite") }
        #expect(error?.message.contains("/proc/no-such-dir/spool.sqlite") == true)
    }
}
