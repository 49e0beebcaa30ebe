import Foundation
import SwarmAnalytics
import Testing

/// SwarmAnalytics against the reference implementations: scikit-learn's IsolationForest and
/// statsmodels' Holt-Winters / ETS(A,A,A), through the fixtures `scripts/analytics-fixtures.sh`
/// writes (the data is in the fixture, so no Python runs here).
@Suite struct ReferenceValidationTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct ForestFixture: Decodable {
        var rows: [[Double]]
        var labels: [Int]
        var sklearn_auc_mean: Double
        var sklearn_auc_by_seed: [Double]
    }

    struct HoltWintersFixture: Decodable {
        var season: Int
        var series: [Double]
        var horizon: Int
        var fixed_parameters: [Double]
        var fixed_forecast: [Double]
        var fitted_parameters: [Double]
        var fitted_sse: Double
        var fitted_forecast: [Double]
        var ets_mean: [Double]
        var ets_lower_95: [Double]
        var ets_upper_95: [Double]
    }

    static func load<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    @Test("Isolation Forest: ROC AUC on the labelled runs within 0.02 of scikit-learn's (mean over 10 seeds each)")
    func isolationForestMatchesScikitLearn() throws {
        let fixture = try Self.load("isolation-forest.json", as: ForestFixture.self)
        let labels = fixture.labels.map { $0 == 1 }
        var aucs: [Double] = []
        for seed in 0..<10 {
            let forest = IsolationForest(rows: fixture.rows, trees: 100, sampleSize: 256, seed: UInt64(seed))
            aucs.append(try #require(ROC.auc(scores: forest.scores(fixture.rows), labels: labels)))
        }
        let ours = aucs.reduce(0, +) / Double(aucs.count)
        print("isolation forest ROC AUC: ours \(ours), scikit-learn \(fixture.sklearn_auc_mean)")
        #expect(
            abs(ours - fixture.sklearn_auc_mean) <= 0.02,
            "ours \(ours) vs scikit-learn \(fixture.sklearn_auc_mean)"
        )
        // Anomalies score higher than ordinary runs, and a seed gives the same forest twice.
        let forest = IsolationForest(rows: fixture.rows, seed: 7)
        let again = IsolationForest(rows: fixture.rows, seed: 7)
        #expect(forest.scores(fixture.rows) == again.scores(fixture.rows))
    }

    @Test("ROC AUC as scikit-learn counts it, ties half")
    func rocAUC() {
        #expect(ROC.auc(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]) == 0.75)
        #expect(ROC.auc(scores: [1, 1, 1, 1], labels: [false, true, false, true]) == 0.5)
        #expect(ROC.auc(scores: [1, 2], labels: [true, true]) == nil)
    }

    @Test("Holt-Winters with fixed parameters: the same forecast as statsmodels to 1e-9")
    func holtWintersRecursion() throws {
        let fixture = try Self.load("holt-winters.json", as: HoltWintersFixture.self)
        let p = fixture.fixed_parameters
        let model = try HoltWinters.smooth(
            fixture.series,
            season: fixture.season,
            parameters: .init(alpha: p[0], beta: p[1], gamma: p[2])
        ).get()
        let forecast = model.forecast(fixture.horizon).map(\.mean)
        for (ours, theirs) in zip(forecast, fixture.fixed_forecast) { #expect(abs(ours - theirs) < 1e-9) }
    }

    @Test("Holt-Winters fitted: SSE no worse than statsmodels', forecasts within 1%, 95% intervals within 0.1% of ETS")
    func holtWintersFit() throws {
        let fixture = try Self.load("holt-winters.json", as: HoltWintersFixture.self)
        let model = try HoltWinters.fit(fixture.series, season: fixture.season).get()
        print("holt-winters SSE: ours \(model.sse) (\(model.parameters)), statsmodels \(fixture.fitted_sse)")
        #expect(model.sse <= fixture.fitted_sse * 1.001)
        let forecast = model.forecast(fixture.horizon)
        let level = fixture.series.reduce(0, +) / Double(fixture.series.count)
        for (ours, theirs) in zip(forecast, fixture.fitted_forecast) {
            #expect(abs(ours.mean - theirs) <= 0.01 * level, "step \(ours.step): \(ours.mean) vs \(theirs)")
        }
        // Intervals: with statsmodels' own parameters, the same widths as its ETS(A,A,A).
        let p = fixture.fitted_parameters
        let theirs = try HoltWinters.smooth(
            fixture.series,
            season: fixture.season,
            parameters: .init(alpha: p[0], beta: p[1], gamma: p[2])
        ).get().forecast(fixture.horizon)
        var worst = 0.0
        for (i, f) in theirs.enumerated() {
            #expect(abs(f.mean - fixture.ets_mean[i]) < 1e-6)
            let width = fixture.ets_upper_95[i] - fixture.ets_lower_95[i]
            worst = max(worst, abs((f.upper - f.lower) - width) / width)
            #expect(
                abs((f.upper - f.lower) - width) <= 0.001 * width,
                "step \(f.step): \(f.upper - f.lower) vs \(width)"
            )
        }
        print("holt-winters 95% interval widths: at most \(worst * 100)% from statsmodels' ETS(A,A,A)")
    }

    @Test("Holt-Winters refuses too little data, saying how much it needs")
    func holtWintersRefuses() {
        let result = HoltWinters.fit(Array(repeating: 1, count: 30), season: 24)
        #expect(throws: HoltWinters.Refusal.tooLittleData(have: 30, need: 48)) { try result.get() }
        #expect(
            HoltWinters.Refusal.tooLittleData(have: 30, need: 48).description
                == "too little data for a forecast: 30 points, at least 48 needed (two full seasons)"
        )
    }
}
