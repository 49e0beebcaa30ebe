import Foundation
import HTTPTypes
import HummingbirdTesting
import SwarmCore
import SwarmStore
import Testing

@testable import SwarmGateway

@Suite("Gateway fleet: agent version drift against the server's")
struct FleetTests {
    @Test("agents reporting another version than the server's are marked; the same version is not")
    func drift() async throws {
        for (serverVersion, drifted) in [("0.9.0", true), ("test", false)] {
            let version: (inout Gateway.Configuration) throws -> Void = { $0.version = serverVersion }
            try await GatewayHarness.with(configure: version) { h in
                try await h.app.test(.router) { client in
                    let viewer = try await client.signIn("viewer")
                    let list = try await client.send(.get, "/api/v1/agents", as: viewer).json()
                    #expect(list["serverVersion"] as? String == serverVersion)
                    let agents = try #require(list["agents"] as? [[String: Any]])
                    // The harness's agents all report version "test".
                    #expect(!agents.isEmpty && agents.allSatisfy { $0["version"] as? String == "test" })
                    #expect(agents.allSatisfy { $0["versionDrift"] as? Bool == drifted }, "\(agents)")
                    let one = try await client.send(.get, "/api/v1/agents/a", as: viewer).json()
                    #expect(one["versionDrift"] as? Bool == drifted)
                }
            }
        }
    }
}
