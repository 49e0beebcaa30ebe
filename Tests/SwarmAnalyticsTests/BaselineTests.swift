import SwarmAnalytics
import SwarmCore
import Testing

/// The seasonal baseline (median and MAD per hour of the week), the EWMA, and change points.
@Suite struct BaselineTests {
    /// Monday 2026-11-30 00:00 UTC.
    static let monday = Timestamp(unixNanos: 1_795_996_800 * 1_000_000_000)

    @Test("hour of the week: Monday 00:00 UTC is 0, Sunday 23:00 is 167")
    func hourOfWeek() {
        #expect(SeasonalBaseline.hourOfWeek(Self.monday) == 0)
        #expect(SeasonalBaseline.hourOfWeek(Self.monday + .seconds(3600 * 167 + 1800)) == 167)
        #expect(SeasonalBaseline.hourOfWeek(Self.monday + .seconds(3600 * 168)) == 0)
    }

    @Test("a daily peak is normal at its hour and an anomaly at another; outliers do not move the median")
    func seasonal() throws {
        // Four weeks, every 5 minutes: 20 ms, 60 ms from 18:00 to 20:59 every day; a few 900 ms spikes.
        var times: [Timestamp] = []
        var values: [Double] = []
        for step in 0..<(4 * 7 * 24 * 12) {
            let time = Self.monday + .seconds(300 * step)
            let hour = (step / 12) % 24
            var value = (18...20).contains(hour) ? 60.0 : 20.0
            value += Double(step % 5) * 0.2
            if step % 997 == 0 { value = 900 }
            times.append(time)
            values.append(value)
        }
        let baseline = SeasonalBaseline(times: times, values: values)
        let eveningTuesday = Self.monday + .seconds(86_400 + 19 * 3600)
        let morningTuesday = Self.monday + .seconds(86_400 + 9 * 3600)
        let evening = try #require(baseline.band(at: eveningTuesday))
        #expect(abs(evening.median - 60.4) < 0.3)
        #expect(abs(try #require(baseline.score(60.5, at: eveningTuesday))) < 1)
        #expect(try #require(baseline.score(60.5, at: morningTuesday)) > 10)
        #expect(abs(try #require(baseline.band(at: morningTuesday)).median - 20.4) < 0.3)
        // No history at all: no band and no score.
        let empty = SeasonalBaseline(times: [], values: [])
        #expect(empty.band(at: Self.monday) == nil && empty.score(1, at: Self.monday) == nil)
    }

    @Test("a bucket with too little history falls back to the whole history")
    func fallback() throws {
        let times = (0..<10).map { Self.monday + .seconds(60 * $0) }  // all in hour 0
        let baseline = SeasonalBaseline(times: times, values: Array(repeating: 5, count: 10), minimumPerBucket: 5)
        #expect(baseline.buckets[0]?.median == 5)
        #expect(baseline.buckets[1] == nil)
        #expect(baseline.band(at: Self.monday + .seconds(3600))?.median == 5)
    }

    @Test("EWMA: the mean follows, older values weigh less")
    func ewma() throws {
        var average = EWMA(alpha: 0.5)
        #expect(average.mean == nil)
        for value in [10.0, 20, 20, 20] { average.add(value) }
        #expect(try #require(average.mean) == 18.75)
        #expect(average.variance > 0)
    }

    @Test("a level shift is one change point, near where it happened; noise alone is none")
    func changePoints() {
        var random = SplitMix64(seed: 3)
        func noise() -> Double { (random.nextUnit() - 0.5) * 2 }
        let quiet = (0..<300).map { _ in 20 + noise() }
        #expect(ChangePointDetector().detect(quiet).isEmpty)
        // A route change: 20 ms, then 35 ms from index 120 on; then back at 240.
        let shifted = (0..<360).map { i in (120..<240).contains(i) ? 35 + noise() : 20 + noise() }
        let points = ChangePointDetector().detect(shifted)
        #expect(points.count == 2, "\(points)")
        #expect(points.first.map { abs($0.index - 120) <= 2 && $0.detectedAt - 120 <= 3 } == true, "\(points)")
        #expect(points.first.map { abs($0.shift - 15) < 1.5 } == true)
        #expect(points.last.map { abs($0.index - 240) <= 2 && $0.shift < -13 } == true, "\(points)")
        // A single spike is not a level shift.
        var spiky = quiet
        spiky[150] = 90
        #expect(ChangePointDetector().detect(spiky).isEmpty)
    }
}
