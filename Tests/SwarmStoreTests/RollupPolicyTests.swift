import SwarmCore
import SwarmStore
import Testing

@Suite("Rollups: which resolution a series reads, retention periods, mergeable aggregates")
struct RollupPolicyTests {
    let now = Timestamp(unixNanos: 1_800_000_000_000_000_000)
    let day = RetentionPolicy.day

    func pick(
        span: Duration,
        points: Int64 = 1000,
        age: Duration? = nil,
        rawKeptFrom: Timestamp? = nil
    )
        -> SeriesResolution
    {
        let from = now - (age ?? span)
        return SeriesResolution.pick(
            range: TimeRange(from: from, to: from + span),
            bucket: .nanoseconds(span.nanoseconds / points),
            now: now,
            policy: .standard,
            rawKeptFrom: rawKeptFrom
        )
    }

    @Test("raw up to two days, minute rollups up to 60, hour rollups beyond; never coarser than a point")
    func bySpan() {
        #expect(pick(span: .seconds(3600)) == .raw)
        #expect(pick(span: day * 2) == .raw)
        #expect(pick(span: day * 7) == .minute)
        #expect(pick(span: day * 90) == .hour)
        // 7 days in 100,000 points is a 6 s bucket: minute rollups would merge several points.
        #expect(pick(span: day * 7, points: 100_000) == .raw)
        #expect(pick(span: day * 90, points: 10_000) == .minute)
    }

    @Test("finer data that is gone is not asked for: pruned raw rows, minute rollups past their period")
    func byAvailability() {
        #expect(pick(span: .seconds(3600), age: day * 40, rawKeptFrom: now - day * 30) == .minute)
        #expect(pick(span: .seconds(3600), age: day * 20, rawKeptFrom: now - day * 30) == .raw)
        #expect(pick(span: .seconds(3600), age: day * 200, rawKeptFrom: now - day * 30) == .hour)
        // Before any prune the raw rows are all there, however old.
        #expect(pick(span: .seconds(3600), age: day * 400) == .raw)
    }

    @Test("retention periods: raw at least a day, each coarser one at least as long as the finer")
    func validation() throws {
        try RetentionPolicy.standard.validate()
        try RetentionPolicy(raw: day, minute: day, hour: day).validate()
        for bad in [
            RetentionPolicy(raw: .seconds(3600), minute: day, hour: day),
            RetentionPolicy(raw: day * 10, minute: day * 5, hour: day * 20),
            RetentionPolicy(raw: day, minute: day * 5, hour: day * 2),
        ] {
            let error = #expect(throws: StoreError.self) { try bad.validate() }
            #expect(error?.code == .invalidInput)
        }
    }

    @Test("aggregates merge exactly: sums, counts, extremes; percentiles weighted by value count")
    func merge() throws {
        var a = SeriesAggregate()
        a.count = 3
        a.okCount = 3
        a.valueCount = 3
        a.valueSum = 6
        a.min = 1
        a.max = 3
        a.p50 = 2
        var b = SeriesAggregate()
        b.count = 2
        b.okCount = 1
        b.valueCount = 1
        b.valueSum = 10
        b.min = 10
        b.max = 10
        b.p50 = 10
        b.lossCount = 1
        b.lossSum = 50
        a.merge(b)
        let bucket = a.bucket(agent: try #require(AgentName("a")), kind: .tcp, start: now)
        #expect(bucket.count == 5 && bucket.okCount == 4)
        #expect(bucket.min == 1 && bucket.max == 10 && bucket.avg == 4)
        #expect(bucket.p50 == 4, "(2×3 + 10×1) / 4")
        #expect(bucket.lossPercent == 50 && bucket.jitterMicros == nil)
        #expect(SeriesAggregate.percentile([1, 2, 3, 4], 0.5) == 2)
        #expect(SeriesAggregate.percentile([1, 2, 3, 4], 0.99) == 4)
        #expect(SeriesAggregate.percentile([], 0.5) == nil)
    }
}
