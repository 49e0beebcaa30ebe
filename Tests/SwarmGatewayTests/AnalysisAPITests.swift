import Foundation
import HTTPTypes
import HummingbirdTesting
import SwarmCore
import Testing

@testable import SwarmGateway

@Suite("Gateway analysis: GET /api/v1/tests/{id}/analysis")
struct AnalysisAPITests {
    @Test("a viewer reads a test's analysis; bad windows, unknown tests and the anonymous are refused")
    func analysis() async throws {
        try await GatewayHarness.with { h in
            // 40 minutes of one-second runs ending now: history before the last 10 minutes.
            let id = try await seedSeries(h.store, count: 2400, start: .now() - .seconds(2400))
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let r = try await client.send(.get, "/api/v1/tests/\(id)/analysis?window=10m&history=1h", as: viewer)
                #expect(r.status == .ok, "\(r.errorMessage)")
                let body = try r.json()
                #expect(body["test"] as? Int == Int(id.rawValue) && body["unit"] as? String == "ms")
                let agents = try #require(body["agents"] as? [[String: Any]])
                let a1 = try #require(agents.first)
                #expect(a1["agent"] as? String == "a1")
                #expect(
                    (a1["windowRuns"] as? Int).map { (590...610).contains($0) } == true,
                    "\(a1["windowRuns"] ?? "")"
                )
                #expect((a1["health"] as? [String: Any])?["state"] as? String != nil)
                // Less than two days of hourly means: no forecast, with the reason.
                #expect((a1["forecastRefusal"] as? String)?.hasPrefix("too little data for a forecast") == true)
                // Every tenth run timed out: the failed-runs factor says so.
                let factors = try #require((a1["health"] as? [String: Any])?["factors"] as? [[String: Any]])
                let failed = factors.first { $0["name"] as? String == "failed_runs_percent" }
                #expect((failed?["value"] as? Double).map { abs($0 - 10) < 1 } == true, "\(factors)")
                #expect(failed?["state"] as? String != "healthy")

                let bad = try await client.send(.get, "/api/v1/tests/\(id)/analysis?window=soon", as: viewer)
                #expect(bad.status == .badRequest && bad.errorMessage.contains("window soon is not a duration"))
                let inverted = try await client.send(
                    .get,
                    "/api/v1/tests/\(id)/analysis?window=2d&history=1d",
                    as: viewer
                )
                #expect(inverted.status == .badRequest)
                let missing = try await client.send(.get, "/api/v1/tests/999/analysis", as: viewer)
                #expect(missing.status == .notFound && missing.errorMessage.contains("test 999 does not exist"))
                let anonymous = try await client.send(.get, "/api/v1/tests/\(id)/analysis")
                #expect(anonymous.status == .unauthorized)

                // The swarm: the one active test, failing on its timed-out runs, worst factor named.
                let swarm = try await client.send(.get, "/api/v1/analysis/swarm", as: viewer)
                #expect(swarm.status == .ok, "\(swarm.errorMessage)")
                let tests = try #require(try swarm.json()["tests"] as? [[String: Any]])
                #expect(tests.count == 1 && tests.first?["test"] as? Int == Int(id.rawValue))
                #expect(
                    ["a1: loss_percent", "a1: failed_runs_percent"].contains(
                        tests.first?["worstFactor"] as? String ?? ""
                    ),
                    "\(tests)"
                )
                let swarmHealth = try #require(try swarm.json()["health"] as? [String: Any])
                #expect(swarmHealth["state"] as? String == tests.first?["state"] as? String)
                #expect(try await client.send(.get, "/api/v1/analysis/swarm").status == .unauthorized)
            }
        }
    }
}
