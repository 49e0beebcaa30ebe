import Hummingbird
import SwarmCore
import SwarmInsights
import SwarmStore

/// A test's analysis (health, anomalies, level shifts, forecast, likely causes): SwarmInsights'
/// `TestAnalysis` as JSON, the shape `streamswarm analyze --json` prints; and the swarm's health
/// over every active test for the dashboard.
struct AnalysisRoutes {
    let store: any Store

    func add(to api: APIRouteBuilder) {
        api.on(.get, "analysis/swarm", .role(.viewer)) { _, _ in
            try JSONResponse.make(try await TestAnalyzer.swarm(store: store, now: .now()))
        }
        api.on(.get, "tests/:id/analysis", .role(.viewer)) { request, context in
            let id = try TestRoutes.testID(context)
            guard let test = try await store.test(id) else { throw GatewayError.notFound("test \(id) does not exist") }
            let q = request.uri.queryParameters
            var options = TestAnalyzer.Options()
            options.window = try Self.duration(q["window"].map(String.init), "window", default: options.window)
            options.history = try Self.duration(q["history"].map(String.init), "history", default: options.history)
            guard options.window > .zero, options.history > options.window, options.history <= .seconds(400 * 86_400)
            else {
                throw GatewayError.badRequest("window must be positive and shorter than history (at most 400d)")
            }
            return try JSONResponse.make(
                try await TestAnalyzer.analyze(test, store: store, now: .now(), options: options)
            )
        }
    }

    /// `30m`, `1h`, `7d` (s, m, h, d).
    static func duration(_ text: String?, _ name: String, default value: Duration) throws -> Duration {
        guard let text, !text.isEmpty else { return value }
        let units: [(Character, Int64)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        if let last = text.last, let unit = units.first(where: { $0.0 == last }), let number = Int64(text.dropLast()),
            number > 0, number < 1_000_000
        {
            return .seconds(number * unit.1)
        }
        throw GatewayError.badRequest("\(name) \(text) is not a duration: use e.g. 30m, 1h, 7d")
    }
}
