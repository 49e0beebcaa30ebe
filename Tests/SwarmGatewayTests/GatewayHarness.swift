import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

@testable import SwarmGateway

/// A gateway over a fresh SQLite store with one user per role, driven through HummingbirdTesting.
struct GatewayHarness {
    static let password = "correct horse battery"
    let store: SQLiteStore
    let databasePath: String
    let app: Application<RouterResponder<GatewayContext>>
    let routes: [RouteEntry]
    let live: LiveEvents

    /// Runs `body` with a harness whose store lives in a temporary directory.
    static func with<T>(
        configure: (inout Gateway.Configuration) throws -> Void = { _ in },
        _ body: (GatewayHarness) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(
                configuration: .init(path: "\(directory)/gateway.sqlite"),
                logger: Logger(label: "test.store")
            )
            // Cost 4: real bcrypt, fast enough for many sign-ins per test.
            let hasher = PasswordHasher(cost: 4)
            for role in Role.allCases {
                try await store.createUser(
                    UserRecord(username: role.rawValue, passwordHash: try await hasher.hash(password), role: role)
                )
            }
            for name in ["a", "b", "c", "a1", "a2"] {
                try await store.recordSessionStart(
                    SessionStart(
                        agent: try #require(AgentName(name)),
                        sessionID: "session-\(name)",
                        agentVersion: "test",
                        host: HostFacts(hostname: name),
                        at: .now()
                    )
                )
            }
            var configuration = Gateway.Configuration(host: "127.0.0.1", port: 0, passwordHasher: hasher)
            // Tests change sessions and tokens behind the gateway's back; the cache has its own test.
            configuration.authCacheTTL = .zero
            try configure(&configuration)
            configuration.uiDirectory = URL(fileURLWithPath: #filePath)
                .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Sources/SwarmGateway/Resources/ui")
            var logger = Logger(label: "test.gateway")
            logger.logLevel = .warning
            let live = LiveEvents(store: store, logger: logger)
            let (router, routes) = try await Gateway.makeRouter(
                configuration: configuration,
                store: store,
                live: live,
                logger: logger
            )
            let app = Gateway.makeApplication(
                router: router,
                host: "127.0.0.1",
                port: 0,
                limits: configuration.limits,
                logger: logger
            )
            return try await body(
                GatewayHarness(
                    store: store,
                    databasePath: "\(directory)/gateway.sqlite",
                    app: app,
                    routes: routes,
                    live: live
                )
            )
        }
    }
}

/// A signed-in browser (cookie + CSRF token) or a script (bearer token).
struct Caller: Sendable {
    var cookie: String?
    var csrf: String?
    var bearer: String?

    static let anonymous = Caller()

    func headers(json: Bool, withCSRF: Bool = true) -> HTTPFields {
        var fields: HTTPFields = [:]
        if let cookie { fields[.cookie] = "\(Authenticator.cookieName)=\(cookie)" }
        if let csrf, withCSRF { fields[.csrfToken] = csrf }
        if let bearer { fields[.authorization] = "Bearer \(bearer)" }
        if json { fields[.contentType] = "application/json" }
        return fields
    }
}

extension TestClientProtocol {
    /// Signs in and returns the session cookie and CSRF token.
    func signIn(_ username: String, password: String = GatewayHarness.password) async throws -> Caller {
        let response = try await send(.post, "/api/v1/auth/login", json: ["username": username, "password": password])
        #expect(response.status == .ok, "sign-in as \(username): \(String(buffer: response.body))")
        let setCookie = response.headers[.setCookie] ?? ""
        let value = setCookie.split(separator: ";").first.map {
            String($0.split(separator: "=", maxSplits: 1).last ?? "")
        }
        let body = try response.json()
        return Caller(cookie: value, csrf: body["csrfToken"] as? String)
    }

    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        as caller: Caller = .anonymous,
        json: Any? = nil,
        raw: String? = nil,
        withCSRF: Bool = true
    ) async throws -> TestResponse {
        var body: ByteBuffer?
        if let json { body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)) }
        if let raw { body = ByteBuffer(string: raw) }
        return try await execute(
            uri: uri,
            method: method,
            headers: caller.headers(json: body != nil, withCSRF: withCSRF),
            body: body
        )
    }
}

extension TestResponse {
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            throw GatewayTestError("response is not a JSON object: \(String(buffer: body))")
        }
        return object
    }

    var errorMessage: String {
        ((try? json())?["error"] as? [String: Any])?["message"] as? String ?? String(buffer: body)
    }
}

struct GatewayTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A minimal valid test spec in proto3 JSON.
func tcpSpec(name: String = "web", host: String = "192.0.2.10") -> [String: Any] {
    [
        "name": name,
        "probes": [["kind": "PROBE_KIND_TCP"]],
        "target": ["host": host, "port": 443],
        "schedule": ["intervalMs": 10_000, "timeoutMs": 2000, "count": 1],
    ]
}
