import Foundation
import SwarmAgent
import SwarmCore
import SwarmProto
import SwarmTestSupport
import SwiftProtobuf
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

    @Test("a measurement too large for any batch is stored as a failed one saying why, and the stream moves on")
    func oversizedMeasurement() async throws {
        try await withTemporaryDirectory { dir in
            let spool = try Spool(path: "\(dir)/spool.sqlite")
            var huge = observation(0)
            huge.reason = String(repeating: "y", count: 20_000)
            try await spool.append([huge, observation(1)])
            let first = try #require(try await spool.formBatch(maxMeasurements: 100, maxBytes: 2_000))
            // The shrunken one leaves room for the next.
            #expect(first.measurements.count == 2)
            #expect(first.measurements.reduce(0) { $0 + $1.count + 16 } <= 2_000)
            let decoded = try Streamswarm_Mesh_V1_Measurement(serializedBytes: first.measurements[0])
            #expect(decoded.status == .failed)
            #expect(decoded.reason.contains("exceeds the server's batch limit of 2000 bytes"))
            #expect(decoded.startedUnixNanos == 0 && decoded.testID == 1)
            // Replayed after a restart, it is the small version that goes again.
            #expect(try await spool.unacknowledgedBatches().first?.measurements == first.measurements)
            #expect(try Streamswarm_Mesh_V1_Measurement(serializedBytes: first.measurements[1]).reason.count == 100)
        }
    }

    @Test("batches formed under a larger limit are re-formed to fit a smaller one, nothing lost")
    func dissolveOversizedBatches() async throws {
        try await withTemporaryDirectory { dir in
            let spool = try Spool(path: "\(dir)/spool.sqlite")
            try await spool.append((0..<10).map(observation))
            let big = try #require(try await spool.formBatch(maxMeasurements: 100))
            #expect(big.measurements.count == 10)
            #expect(try await spool.dissolveBatches(largerThan: 400) == 1)
            #expect(try await spool.unacknowledgedBatches().isEmpty)
            var total = 0
            while let batch = try await spool.formBatch(maxMeasurements: 100, maxBytes: 400) {
                #expect(batch.id > big.id)
                total += batch.measurements.count
            }
            #expect(total == 10)
            #expect(try await spool.depth() == 10)
        }
    }

    @Test("a re-used batch id is renumbered above the server's last id, and Welcome's floor raises the counter")
    func renumber() async throws {
        try await withTemporaryDirectory { dir in
            let spool = try Spool(path: "\(dir)/spool.sqlite")
            try await spool.append((0..<3).map(observation))
            let batch = try #require(try await spool.formBatch(maxMeasurements: 2))
            let floor = batch.id + 1000
            let moved = try #require(try await spool.renumber(batch.id, above: floor))
            #expect(moved.id == floor + 1)
            #expect(moved.measurements == batch.measurements)
            #expect(try await spool.unacknowledgedBatches().map(\.id) == [moved.id])
            #expect(try await spool.renumber(batch.id, above: floor) == nil)
            try await spool.raiseBatchCounter(above: floor + 5000)
            let next = try #require(try await spool.formBatch(maxMeasurements: 10))
            #expect(next.id == floor + 5001)
        }
    }

    @Test("the spool file is readable by its owner only")
    func privateSpool() async throws {
        try await withTemporaryDirectory { dir in
            let path = "\(dir)/agent/spool.sqlite"
            let spool = try Spool(path: path)
            try await spool.append([observation(1)])
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int ?? -1) & 0o777 == 0o600)
            let directory = try FileManager.default.attributesOfItem(atPath: "\(dir)/agent")
            #expect((directory[.posixPermissions] as? Int ?? -1) & 0o777 == 0o700)
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
        let error = #expect(throws: AgentError.self) { try Spool(path: "/proc/no-such-dir/spool.sqlite") }
        #expect(error?.code == .spoolUnavailable)
        #expect(error?.message.contains("/proc/no-such-dir/spool.sqlite") == true)
    }
}
