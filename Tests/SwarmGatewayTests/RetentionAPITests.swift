import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import SwarmCore
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import Testing

@testable import SwarmGateway

@Suite("Gateway: series from rollups once raw rows are pruned; retention settings")
struct RetentionAPITests {
    @Test("after the retention job pruned the raw rows, the series says it reads minute rollups and keeps the figures")
    func seriesFromRollups() async throws {
        try await GatewayHarness.with { h in
            // An hour of 1 s data, 40 days ago: older than the 30-day raw period.
            let start = Timestamp(
                unixNanos: (Timestamp.now() - .seconds(40 * 86_400)).unixNanos / 3_600_000_000_000 * 3_600_000_000_000
            )
            let id = try await seedSeries(h.store, count: 3600, start: start)
            let uri =
                "/api/v1/results/series?test=\(id)&from=\(start.iso8601)&to=\((start + .seconds(3600)).iso8601)&points=60"
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let before = try await client.send(.get, uri, as: viewer)
                #expect(before.status == .ok, "\(before.errorMessage)")
                #expect(try before.json()["resolution"] as? String == "raw", "nothing pruned yet: raw rows are exact")
                let rawPoints = try #require(
                    ((try before.json()["series"] as? [[String: Any]])?.first)?["points"] as? [[String: Any]]
                )

                let job = RetentionJob(store: h.store, logger: Logger(label: "test.retention"))
                let pass = try await job.runOnce(now: .now())
                #expect(pass.rollups.caughtUp)
                #expect(pass.pruned?.raw == 3600)
                #expect(try await h.store.measurementCount(test: id) == 0)

                let after = try await client.send(.get, uri, as: viewer)
                #expect(after.status == .ok, "\(after.errorMessage)")
                #expect(try after.json()["resolution"] as? String == "minute")
                #expect(try after.json()["bucketSeconds"] as? Double == 60)
                let points = try #require(
                    ((try after.json()["series"] as? [[String: Any]])?.first)?["points"] as? [[String: Any]]
                )
                #expect(points.count == 60)
                for (raw, rolled) in zip(rawPoints, points) {
                    #expect(raw["n"] as? Int == rolled["n"] as? Int)
                    #expect(raw["max"] as? Double == rolled["max"] as? Double)
                    #expect(raw["lossPercent"] as? Double == rolled["lossPercent"] as? Double)
                }
                let first = try #require(points.first)
                #expect(first["p50"] as? Double != nil && first["p99"] as? Double != nil)
            }
        }
    }

    @Test("retention periods are settings an admin changes; a raw period longer than the minute one is refused")
    func settings() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let admin = try await client.signIn("admin")
                let current = try await client.send(.get, "/api/v1/settings", as: admin)
                let values = try #require(try current.json()["settings"] as? [String: Int])
                #expect(values["retentionRawDays"] == 30 && values["retentionMinuteDays"] == 180)
                let changed = try await client.send(
                    .put,
                    "/api/v1/settings",
                    as: admin,
                    json: ["settings": ["retentionRawDays": 7, "retentionMinuteDays": 60]]
                )
                #expect(changed.status == .ok, "\(changed.errorMessage)")
                // The retention job reads the same keys.
                let policy = try await RetentionPolicy.load(from: h.store)
                #expect(policy.raw == RetentionPolicy.day * 7 && policy.minute == RetentionPolicy.day * 60)
                let crossed = try await client.send(
                    .put,
                    "/api/v1/settings",
                    as: admin,
                    json: ["settings": ["retentionRawDays": 90]]
                )
                #expect(crossed.status == .badRequest)
                #expect(crossed.errorMessage.contains("at least as long as raw"), "\(crossed.errorMessage)")
                #expect(try await RetentionPolicy.load(from: h.store) == policy)
            }
        }
    }
}
