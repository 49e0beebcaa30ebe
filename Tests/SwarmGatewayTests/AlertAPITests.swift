import Foundation
import HTTPTypes
import HummingbirdTesting
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import Testing

@testable import SwarmGateway

@Suite("Gateway alerting: rules, channels, alerts, silences")
struct AlertAPITests {
    @Test("admins add channels (secret never returned), operators add rules and acknowledge, viewers only read")
    func rulesChannelsAndAlerts() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let op = try await client.signIn("operator")
                let admin = try await client.signIn("admin")
                let hook: [String: Any] = [
                    "name": "ops", "kind": "webhook", "url": "https://hooks.example.net/swarm",
                    "secret": "0123456789abcdef0123",
                ]
                #expect(try await client.send(.post, "/api/v1/alert-channels", as: op, json: hook).status == .forbidden)
                let created = try await client.send(.post, "/api/v1/alert-channels", as: admin, json: hook)
                #expect(created.status == .created, "\(created.errorMessage)")
                let channels = try await client.send(.get, "/api/v1/alert-channels", as: viewer)
                let listed = try #require(try channels.json()["channels"] as? [[String: Any]])
                #expect(
                    listed.count == 1 && listed.first?["hasSecret"] as? Bool == true && listed.first?["secret"] == nil
                )
                var weak = hook
                weak["name"] = "weak"
                weak["secret"] = "short"
                let refused = try await client.send(.post, "/api/v1/alert-channels", as: admin, json: weak)
                #expect(refused.status == .badRequest && refused.errorMessage.contains("at least 16 bytes"))

                let rule: [String: Any] = [
                    "name": "slow", "metric": "latency", "raise": 100, "clear": 80, "n": 2, "m": 3,
                    "severity": "critical", "channels": ["ops"],
                ]
                #expect(
                    try await client.send(.post, "/api/v1/alert-rules", as: viewer, json: rule).status == .forbidden
                )
                let made = try await client.send(.post, "/api/v1/alert-rules", as: op, json: rule)
                #expect(made.status == .created, "\(made.errorMessage)")
                let ruleID = try #require(try made.json()["id"] as? Int)
                #expect(
                    try made.json()["summary"] as? String
                        == "latency above 100.0 ms (clear below 80.0), 2 of 3, every test, every agent, critical"
                )
                #expect(try await client.send(.post, "/api/v1/alert-rules", as: op, json: rule).status == .conflict)
                var unknown = rule
                unknown["threshold"] = 3
                let strict = try await client.send(.post, "/api/v1/alert-rules", as: op, json: unknown)
                #expect(strict.status == .badRequest && strict.errorMessage.contains("unknown field 'threshold'"))
                var backwards = rule
                backwards["name"] = "backwards"
                backwards["clear"] = 150
                let sound = try await client.send(.post, "/api/v1/alert-rules", as: op, json: backwards)
                #expect(sound.status == .badRequest && sound.errorMessage.contains("must not be above"))
                let badJSON = try await client.send(.post, "/api/v1/alert-rules", as: op, raw: "{\"name\": ")
                #expect(badJSON.status == .badRequest)
                #expect(try await client.send(.delete, "/api/v1/alert-channels/1", as: admin).status == .conflict)

                // An alert as the evaluator stores it: listed, read with its notification, acknowledged.
                let stored = try #require(try await h.store.alertRules().first)
                let alert = try await h.store.raiseAlert(
                    AlertRecord(
                        ruleID: stored.id,
                        ruleName: "slow",
                        metric: .latency,
                        severity: .critical,
                        test: TestID(3),
                        agent: AgentName("a1"),
                        raisedAt: .now(),
                        raisedValue: 151,
                        message: "slow: latency 151 ms for test 3 on agent a1"
                    ),
                    notify: [try #require(try await h.store.alertChannels().first?.id)]
                )
                let open = try await client.send(.get, "/api/v1/alerts?open=true", as: viewer)
                let alerts = try #require(try open.json()["alerts"] as? [[String: Any]])
                #expect(alerts.count == 1 && alerts.first?["raisedValue"] as? Double == 151)
                let detail = try await client.send(.get, "/api/v1/alerts/\(alert.id)", as: viewer)
                let notifications = try #require(try detail.json()["notifications"] as? [[String: Any]])
                #expect(
                    notifications.first?["channel"] as? String == "ops"
                        && notifications.first?["state"] as? String == "pending"
                )
                #expect(try await client.send(.post, "/api/v1/alerts/\(alert.id)/ack", as: viewer).status == .forbidden)
                let acked = try await client.send(.post, "/api/v1/alerts/\(alert.id)/ack", as: op)
                #expect(try acked.json()["acknowledgedBy"] as? String == "operator")
                #expect(try await client.send(.get, "/api/v1/alerts/999", as: viewer).status == .notFound)
                #expect(try await client.send(.get, "/api/v1/alerts?test=x", as: viewer).status == .badRequest)

                // Silences.
                let silence: [String: Any] = ["rule": "slow", "duration": "2h", "reason": "maintenance"]
                let silenced = try await client.send(.post, "/api/v1/silences", as: op, json: silence)
                #expect(silenced.status == .created, "\(silenced.errorMessage)")
                let silenceID = try #require(try silenced.json()["id"] as? Int)
                var forever = silence
                forever["duration"] = "400d"
                #expect(try await client.send(.post, "/api/v1/silences", as: op, json: forever).status == .badRequest)
                let active = try await client.send(.get, "/api/v1/silences", as: viewer)
                #expect((try active.json()["silences"] as? [[String: Any]])?.count == 1)
                #expect(try await client.send(.delete, "/api/v1/silences/\(silenceID)", as: op).status == .noContent)
                #expect(try await client.send(.delete, "/api/v1/silences/\(silenceID)", as: op).status == .notFound)

                // Deleting the rule keeps the alert as history, cleared.
                #expect(try await client.send(.delete, "/api/v1/alert-rules/\(ruleID)", as: op).status == .noContent)
                let history = try await client.send(.get, "/api/v1/alerts", as: viewer)
                let kept = try #require(try history.json()["alerts"] as? [[String: Any]])
                #expect(kept.count == 1 && kept.first?["open"] as? Bool == false)
            }
        }
    }
}
