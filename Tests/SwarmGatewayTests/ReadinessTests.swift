import Foundation
import HTTPTypes
import HummingbirdTesting
import SwarmCore
import SwarmStore
import Testing

@testable import SwarmGateway

@Suite("Gateway /healthz and /readyz")
struct ReadinessTests {
    @Test("healthz answers anyone; readyz is ready with the store and every check, 503 naming what is not")
    func probes() async throws {
        let (mesh, up) = ReadinessCheck.flag("mesh", notYet: "the mesh listener on 0.0.0.0:7443 is not up yet")
        let slow = ReadinessCheck(name: "slow") {
            try? await Task.sleep(for: .seconds(30))
            return nil
        }
        let withMesh: (inout Gateway.Configuration) throws -> Void = { $0.readiness = [mesh] }
        let withSlow: (inout Gateway.Configuration) throws -> Void = { $0.readiness = [slow] }
        try await GatewayHarness.with(configure: withMesh) { h in
            try await h.app.test(.router) { client in
                let health = try await client.send(.get, "/healthz")
                let healthStatus = try health.json()["status"] as? String
                #expect(health.status == .ok && healthStatus == "ok")

                let waiting = try await client.send(.get, "/readyz")
                #expect(waiting.status == .serviceUnavailable)
                let checks = try #require(try waiting.json()["checks"] as? [String: String])
                #expect(checks == ["store": "ok", "mesh": "the mesh listener on 0.0.0.0:7443 is not up yet"])

                up.set()
                let ready = try await client.send(.get, "/readyz")
                let readyStatus = try ready.json()["status"] as? String
                #expect(ready.status == .ok && readyStatus == "ready", "\(ready.errorMessage)")
                #expect((try ready.json()["checks"] as? [String: String]) == ["store": "ok", "mesh": "ok"])
            }
        }
        // A check that hangs is a failure after 2 s, not a hung probe.
        try await GatewayHarness.with(configure: withSlow) { h in
            try await h.app.test(.router) { client in
                let started = ContinuousClock.now
                let response = try await client.send(.get, "/readyz")
                #expect(ContinuousClock.now - started < .seconds(10))
                #expect(response.status == .serviceUnavailable)
                #expect(
                    (try response.json()["checks"] as? [String: String])?["slow"]
                        == "slow did not answer within 2.0 seconds"
                )
            }
        }
    }
}
