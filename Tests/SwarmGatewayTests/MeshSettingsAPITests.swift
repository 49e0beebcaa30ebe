import Foundation
import HTTPTypes
import HummingbirdTesting
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import Testing

@testable import SwarmGateway

@Suite("Gateway: mesh colour thresholds from settings; tests whose agents were deleted")
struct MeshSettingsAPITests {
    @Test("the mesh answer carries the configured thresholds; settings refuse out-of-range and crossed values")
    func meshThresholds() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let admin = try await client.signIn("admin")
                func thresholds() async throws -> [String: Int] {
                    let r = try await client.send(.get, "/api/v1/mesh?kind=udp", as: viewer)
                    #expect(r.status == .ok, "\(r.errorMessage)")
                    return try #require(try r.json()["thresholds"] as? [String: Int])
                }
                #expect(try await thresholds() == ["warnLatencyMs": 50, "badLatencyMs": 150, "badLossPercent": 5])

                let changed = try await client.send(
                    .put,
                    "/api/v1/settings",
                    as: admin,
                    json: ["settings": ["meshWarnLatencyMs": 20, "meshBadLatencyMs": 80, "meshBadLossPercent": 2]]
                )
                #expect(changed.status == .ok, "\(changed.errorMessage)")
                #expect(try await thresholds() == ["warnLatencyMs": 20, "badLatencyMs": 80, "badLossPercent": 2])

                // Crossed (warn at or above bad, even when only one of them changes) and out of range.
                let crossed = try await client.send(
                    .put,
                    "/api/v1/settings",
                    as: admin,
                    json: ["settings": ["meshWarnLatencyMs": 80]]
                )
                #expect(crossed.status == .badRequest)
                #expect(crossed.errorMessage.contains("must be below meshBadLatencyMs"), "\(crossed.errorMessage)")
                let lossTooHigh = try await client.send(
                    .put,
                    "/api/v1/settings",
                    as: admin,
                    json: ["settings": ["meshBadLossPercent": 101]]
                )
                #expect(lossTooHigh.status == .badRequest)
                let byViewer = try await client.send(
                    .put,
                    "/api/v1/settings",
                    as: viewer,
                    json: ["settings": ["meshBadLatencyMs": 500]]
                )
                #expect(byViewer.status == .forbidden)
                #expect(try await thresholds() == ["warnLatencyMs": 20, "badLatencyMs": 80, "badLossPercent": 2])
            }
        }
    }

    @Test("a test whose only agent was deleted shows phase no-agents in the list and on its own")
    func noAgentsPhase() async throws {
        try await GatewayHarness.with { h in
            let agent = try #require(AgentName("a2"))
            let spec = TestSpec(name: "orphan", probes: [.tcp], target: .init(host: "127.0.0.1", port: 9))
            let test = try await h.store.createTest(spec, agents: [agent])
            try await h.store.markOffline(agent, sessionID: "session-a2", at: .now())
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let admin = try await client.signIn("admin")
                let deleted = try await client.send(.delete, "/api/v1/agents/a2", as: admin)
                #expect(deleted.status == .noContent || deleted.status == .ok, "\(deleted.errorMessage)")

                let one = try await client.send(.get, "/api/v1/tests/\(test.id.rawValue)", as: viewer)
                #expect(one.status == .ok, "\(one.errorMessage)")
                let shown: [String: Any] = try one.json()
                #expect(shown["phase"] as? String == "no-agents")
                #expect(shown["state"] as? String == "active")
                #expect((shown["agents"] as? [String])?.isEmpty == true)

                let list = try await client.send(.get, "/api/v1/tests", as: viewer)
                let tests: [[String: Any]] = try #require(try list.json()["tests"] as? [[String: Any]])
                let listed: [String: Any]? = tests.first { ($0["id"] as? Int) == Int(test.id.rawValue) }
                #expect(listed?["phase"] as? String == "no-agents")
                #expect(listed?["nextRunAt"] == nil)
            }
        }
    }
}
