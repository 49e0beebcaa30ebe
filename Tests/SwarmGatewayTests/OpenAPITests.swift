import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwarmCore
import Testing

@testable import SwarmGateway

@Suite("OpenAPI document stays in step with the routes")
struct OpenAPITests {
    @Test("every registered route is documented with its role, and nothing else is")
    func inStep() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let response = try await client.send(.get, "/api/v1/openapi.json")
                #expect(response.status == .ok)
                let document = try response.json()
                #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
                let paths = try #require(document["paths"] as? [String: [String: Any]])
                var documented: [String: String] = [:]
                for (path, operations) in paths {
                    for (method, operation) in operations
                    where ["get", "post", "put", "patch", "delete"].contains(method) {
                        let role = (operation as? [String: Any])?["x-required-role"] as? String ?? "missing"
                        documented["\(method.uppercased()) \(path)"] = role
                    }
                }
                var registered: [String: String] = [:]
                for route in h.routes {
                    let role: String
                    switch route.access {
                    case .anyone: role = "anyone"
                    case .role(let r): role = r.rawValue
                    }
                    registered["\(route.method.rawValue) \(route.path)"] = role
                }
                let undocumented = Set(registered.keys).subtracting(documented.keys).sorted()
                let stale = Set(documented.keys).subtracting(registered.keys).sorted()
                #expect(undocumented.isEmpty, "routes missing from openapi.json: \(undocumented)")
                #expect(stale.isEmpty, "openapi.json documents routes that do not exist: \(stale)")
                for (key, role) in registered where documented[key] != nil {
                    #expect(
                        documented[key] == role,
                        "\(key): documented \(documented[key] ?? "") but code requires \(role)"
                    )
                }
            }
        }
    }
}
