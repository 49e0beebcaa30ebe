import SwarmCore
import SwarmStore
import Testing

// RollupStore: rollups agree with the raw rows, late rows re-roll, retention keeps what it should.
extension StoreConformance {
    /// An hour boundary (2023-11-14T22:00:00Z), so minutes and hours start on round numbers.
    static let hourZero: Int64 = 1_699_999_200_000_000_000
    static let second: Int64 = 1_000_000_000

    static func at(_ seconds: Int64) -> Int64 { hourZero + seconds * second }

    /// Minute 0: values 1…10 and one failure without a value; minute 1: 100; hour 1: 7.
    static func rollupFixture(_ store: any Store) async throws -> TestID {
        try await connect(store, alpha)
        let test = try await store.createTest(spec("rolled"), agents: [alpha])
        var rows = (1...10).map {
            measurement(test.id, alpha, sequence: UInt64($0), at: at(Int64($0)), value: Double($0))
        }
        rows.append(measurement(test.id, alpha, sequence: 11, at: at(30), value: nil, status: .failed))
        rows[0].figures = MeasurementFigures(lossPercent: 20, jitterMicros: 3)
        rows[1].figures = MeasurementFigures(lossPercent: 0, jitterMicros: 5)
        rows.append(measurement(test.id, alpha, sequence: 12, at: at(61), value: 100))
        rows.append(measurement(test.id, alpha, sequence: 13, at: at(3605), value: 7))
        _ = try await store.commitBatches([batch(alpha, 1, rows)])
        return test.id
    }

    static func rollupSeries(
        _ store: any Store,
        _ test: TestID,
        _ resolution: SeriesResolution,
        bucket: Duration
    ) async throws -> [SeriesBucket] {
        try await store.series(
            SeriesQuery(
                test: test,
                range: TimeRange(from: Timestamp(unixNanos: at(0)), to: Timestamp(unixNanos: at(7200))),
                bucket: bucket,
                resolution: resolution
            )
        )
    }

    static let rollupContracts: [Contract] = [
        Contract("rollups: closed minutes and hours roll up; their series agree with the raw rows") {
            let store = $0.store
            let test = try await rollupFixture(store)
            #expect(try await store.rollupWatermarks().isEmpty)
            let report = try await store.rollUp(closedBefore: Timestamp(unixNanos: at(3630)), maxSpan: .seconds(86_400))
            #expect(report.caughtUp)
            #expect(report.buckets[.minute] == 2 && report.buckets[.hour] == 1)
            #expect(report.watermarks[.minute] == Timestamp(unixNanos: at(3600)))
            #expect(report.watermarks[.hour] == Timestamp(unixNanos: at(3600)))
            #expect(try await store.rollupWatermarks() == report.watermarks)

            let minutes = try await rollupSeries(store, test, .minute, bucket: .seconds(60))
            #expect(minutes.map(\.start.unixNanos) == [at(0), at(60), at(3600)])
            let first = try #require(minutes.first)
            #expect(first.count == 11 && first.okCount == 10)
            #expect(first.min == 1 && first.max == 10 && first.avg == 5.5)
            #expect(first.p50 == 5 && first.p90 == 9 && first.p99 == 10)
            #expect(first.lossPercent == 10 && first.jitterMicros == 4)
            // The minute after the watermark is not rolled up yet: it comes from the raw rows.
            let tail = try #require(minutes.last)
            #expect(tail.count == 1 && tail.avg == 7 && tail.p50 == nil)

            let hours = try await rollupSeries(store, test, .hour, bucket: .seconds(3600))
            #expect(hours.map(\.count) == [12, 1])
            let hour = try #require(hours.first)
            #expect(hour.min == 1 && hour.max == 100 && hour.p50 == 6 && hour.p99 == 100)
            let raw = try await rollupSeries(store, test, .raw, bucket: .seconds(3600))
            #expect(raw.map(\.count) == hours.map(\.count) && raw.map(\.avg) == hours.map(\.avg))
        },
        Contract("rollups: a measurement that arrives for a rolled-up bucket rolls it up again") {
            let store = $0.store
            let test = try await rollupFixture(store)
            _ = try await store.rollUp(closedBefore: Timestamp(unixNanos: at(7200)), maxSpan: .seconds(86_400))
            _ = try await store.commitBatches([
                batch(alpha, 2, [measurement(test, alpha, sequence: 20, at: at(20), value: 50)])
            ])
            let report = try await store.rollUp(closedBefore: Timestamp(unixNanos: at(7200)), maxSpan: .seconds(86_400))
            #expect(report.lateBuckets == 2, "the minute and the hour it falls in")
            let minute = try #require(try await rollupSeries(store, test, .minute, bucket: .seconds(60)).first)
            #expect(minute.count == 12 && minute.max == 50)
            let hour = try #require(try await rollupSeries(store, test, .hour, bucket: .seconds(3600)).first)
            #expect(hour.count == 13)
            // Nothing is counted twice when nothing new arrived.
            let again = try await store.rollUp(closedBefore: Timestamp(unixNanos: at(7200)), maxSpan: .seconds(86_400))
            #expect(again.lateBuckets == 0)
            #expect(try await rollupSeries(store, test, .hour, bucket: .seconds(3600)).first?.count == 13)
        },
        Contract("rollups: a long history rolls up a span at a time until caught up") {
            let store = $0.store
            let test = try await rollupFixture(store)
            let end = Timestamp(unixNanos: at(5 * 3600))
            let first = try await store.rollUp(closedBefore: end, maxSpan: .seconds(3600))
            #expect(!first.caughtUp)
            var calls = 1
            while try await !store.rollUp(closedBefore: end, maxSpan: .seconds(3600)).caughtUp {
                calls += 1
                try #require(calls < 10, "rollUp never caught up")
            }
            #expect(try await store.rollupWatermarks()[.minute] == end)
            #expect(try await rollupSeries(store, test, .minute, bucket: .seconds(3600)).map(\.count) == [12, 1])
        },
        Contract("retention: raw rows past their period go once rolled up; rollups stay theirs; late rows merge") {
            let store = $0.store
            let test = try await rollupFixture(store)
            _ = try await store.rollUp(closedBefore: Timestamp(unixNanos: at(7200)), maxSpan: .seconds(86_400))
            let day = RetentionPolicy.day
            let policy = RetentionPolicy(raw: day, minute: day * 2, hour: day * 3)
            let pruned = try await store.prune(policy, now: Timestamp(unixNanos: at(7200)) + day)
            #expect(pruned == PruneReport(raw: 13, minute: 0, hour: 0))
            #expect(try await store.measurementCount(test: test) == 0)
            #expect(try await store.rollupWatermarks()[.raw] == Timestamp(unixNanos: at(7200)), "raw kept from")
            #expect(try await rollupSeries(store, test, .hour, bucket: .seconds(3600)).map(\.count) == [12, 1])

            // A spooled row for a bucket whose raw rows are gone adds to the rollups, once.
            _ = try await store.commitBatches([
                batch(alpha, 2, [measurement(test, alpha, sequence: 30, at: at(40), value: 4)])
            ])
            _ = try await store.rollUp(closedBefore: Timestamp(unixNanos: at(7200)), maxSpan: .seconds(86_400))
            let minute = try #require(try await rollupSeries(store, test, .minute, bucket: .seconds(60)).first)
            #expect(minute.count == 12 && minute.max == 10 && minute.min == 1)
            #expect(try await rollupSeries(store, test, .hour, bucket: .seconds(3600)).map(\.count) == [13, 1])
            #expect(try await store.measurementCount(test: test) == 0, "the merged row is not kept raw")

            let later = try await store.prune(policy, now: Timestamp(unixNanos: at(7200)) + day * 2)
            #expect(later.minute == 3 && later.hour == 0)
            #expect(try await rollupSeries(store, test, .minute, bucket: .seconds(60)).isEmpty)
            #expect(try await rollupSeries(store, test, .hour, bucket: .seconds(3600)).map(\.count) == [13, 1])
            await expectStoreError(.invalidInput) {
                _ = try await store.prune(RetentionPolicy(raw: day * 5, minute: day, hour: day), now: .now())
            }
        },
    ]
}
