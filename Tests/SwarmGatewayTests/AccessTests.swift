import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import Testing

@testable import SwarmGateway

@Suite("Gateway access control over the whole route table")
struct AccessTests {
    /// The only endpoints anyone may call.
    static let publicRoutes: Set<String> = [
        "GET /api/v1/health", "GET /api/v1/openapi.json", "POST /api/v1/auth/login", "GET /api/v1/auth/me",
    ]

    @Test("every route states its access; only health, the OpenAPI document and login are public")
    func everyRouteHasARole() async throws {
        try await GatewayHarness.with { h in
            #expect(h.routes.count > 30)
            for route in h.routes {
                let key = "\(route.method) \(route.path)"
                if case .anyone = route.access {
                    #expect(Self.publicRoutes.contains(key), "\(key) is public")
                }
            }
        }
    }

    @Test("no write endpoint is reachable anonymously or with too low a role, and the store is unchanged")
    func walkWrites() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let op = try await client.signIn("operator")
                let before = try await snapshot(h)
                for route in h.routes where route.method != .get {
                    guard case .role(let required) = route.access else { continue }
                    let uri = route.path.replacingOccurrences(of: "{id}", with: "1")
                        .replacingOccurrences(of: "{name}", with: "local")
                        .replacingOccurrences(of: "{username}", with: "viewer")
                    let anonymous = try await client.send(route.method, uri, json: ["x": 1])
                    #expect(
                        anonymous.status == .unauthorized,
                        "\(route.method) \(uri) anonymously: \(anonymous.status)"
                    )
                    if required > .viewer {
                        let low = try await client.send(route.method, uri, as: viewer, json: ["x": 1])
                        #expect(low.status == .forbidden, "\(route.method) \(uri) as viewer: \(low.status)")
                    }
                    if required > .operator {
                        let low = try await client.send(route.method, uri, as: op, json: ["x": 1])
                        #expect(low.status == .forbidden, "\(route.method) \(uri) as operator: \(low.status)")
                    }
                }
                #expect(try await snapshot(h) == before)
            }
        }
    }

    @Test("reads need a sign-in too")
    func walkReads() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                for route in h.routes where route.method == .get {
                    guard case .role = route.access else { continue }
                    let uri = route.path.replacingOccurrences(of: "{id}", with: "1").replacingOccurrences(
                        of: "{name}",
                        with: "x"
                    )
                    let status = try await client.send(.get, uri).status
                    #expect(status == .unauthorized, "GET \(uri)")
                }
            }
        }
    }

    private func snapshot(_ h: GatewayHarness) async throws -> String {
        let users = try await h.store.users().map { "\($0.username):\($0.role):\($0.disabled):\($0.passwordHash)" }
        let tokens = try await h.store.tokens().map(\.id)
        let tests = try await h.store.tests().map { "\($0.id):\($0.revision):\($0.state)" }
        let settings = try await GatewaySettings(store: h.store).all()
        return "\(users) \(tokens) \(tests) \(settings.sorted { $0.key < $1.key })"
    }
}
