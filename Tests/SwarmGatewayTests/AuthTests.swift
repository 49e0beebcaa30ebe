import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import Testing

@testable import SwarmGateway

@Suite("Gateway sign-in, sessions, CSRF and API tokens")
struct AuthTests {
    @Test("sign-in sets an HttpOnly SameSite=Strict cookie; a wrong password is 401; me and logout work")
    func signInAndOut() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let wrong = try await client.send(
                    .post,
                    "/api/v1/auth/login",
                    json: ["username": "admin", "password": "nope nope nope"]
                )
                #expect(wrong.status == .unauthorized)
                #expect(wrong.errorMessage == "wrong username or password")
                let unknown = try await client.send(
                    .post,
                    "/api/v1/auth/login",
                    json: ["username": "ghost", "password": "nope nope nope"]
                )
                #expect(unknown.errorMessage == "wrong username or password")

                let ok = try await client.send(
                    .post,
                    "/api/v1/auth/login",
                    json: ["username": "admin", "password": GatewayHarness.password]
                )
                let cookie = ok.headers[.setCookie] ?? ""
                #expect(cookie.contains("HttpOnly"))
                #expect(cookie.contains("SameSite=Strict"))
                #expect(!cookie.contains("Secure"))
                #expect((try await h.store.user("admin"))?.lastLoginAt != nil)

                let admin = try await client.signIn("admin")
                let me = try await client.send(.get, "/api/v1/auth/me", as: admin)
                #expect(me.status == .ok)
                #expect((try me.json()["user"] as? [String: Any])?["role"] as? String == "admin")
                #expect(try me.json()["csrfToken"] as? String == admin.csrf)

                let logout = try await client.send(.post, "/api/v1/auth/logout", as: admin)
                #expect(logout.status == .noContent)
                let after = try await client.send(.get, "/api/v1/auth/me", as: admin)
                #expect(after.status == .ok)
                #expect(try after.json()["user"] is NSNull)
            }
        }
    }

    @Test("a cookie-authenticated write without the CSRF token is 403 and changes nothing")
    func csrf() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let op = try await client.signIn("operator")
                let body: [String: Any] = ["spec": tcpSpec(), "agents": ["a1"]]
                let missing = try await client.send(.post, "/api/v1/tests", as: op, json: body, withCSRF: false)
                #expect(missing.status == .forbidden)
                #expect(missing.errorMessage.contains("X-CSRF-Token"))
                var forged = op
                forged.csrf = "forged"
                #expect(try await client.send(.post, "/api/v1/tests", as: forged, json: body).status == .forbidden)
                #expect(try await h.store.tests().isEmpty)
                #expect(try await client.send(.post, "/api/v1/tests", as: op, json: body).status == .created)
                #expect(try await h.store.tests().count == 1)
            }
        }
    }

    @Test("an idle session expires after the configured minutes")
    func idleTimeout() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                #expect(try await client.send(.get, "/api/v1/agents", as: viewer).status == .ok)
                let hash = Secrets.digest(viewer.cookie ?? "")
                try await h.store.touchSession(tokenHash: hash, at: .now() - .seconds(31 * 60))
                let expired = try await client.send(.get, "/api/v1/agents", as: viewer)
                #expect(expired.status == .unauthorized)
                #expect(try await h.store.session(tokenHash: hash) == nil)
            }
        }
    }

    @Test("failed sign-ins are rate limited per username with Retry-After; the right password is refused too")
    func rateLimit() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                for _ in 0..<5 {
                    let r = try await client.send(
                        .post,
                        "/api/v1/auth/login",
                        json: ["username": "viewer", "password": "wrong password!"]
                    )
                    #expect(r.status == .unauthorized)
                }
                let limited = try await client.send(
                    .post,
                    "/api/v1/auth/login",
                    json: ["username": "viewer", "password": GatewayHarness.password]
                )
                #expect(limited.status == .tooManyRequests)
                #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
                #expect(limited.errorMessage.contains("try again in"))
                // The client is limited too (4 x 5 failures from it), whatever username comes next;
                // a huge username is answered like any other and its limiter key stays bounded.
                for i in 0..<15 {
                    let r = try await client.send(
                        .post,
                        "/api/v1/auth/login",
                        json: ["username": "user\(i)", "password": "wrong password!"]
                    )
                    #expect(r.status == .unauthorized)
                }
                let huge = String(repeating: "x", count: 500_000)
                let r = try await client.send(
                    .post,
                    "/api/v1/auth/login",
                    json: ["username": huge, "password": "irrelevant!"]
                )
                #expect(r.status == .tooManyRequests)
            }
        }
    }

    @Test("API tokens: secret shown once, stored hashed, scoped to a role, last use recorded, revocable")
    func tokens() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let admin = try await client.signIn("admin")
                let created = try await client.send(
                    .post,
                    "/api/v1/tokens",
                    as: admin,
                    json: ["name": "ci", "role": "viewer"]
                )
                #expect(created.status == .created)
                let secret = try #require(try created.json()["secret"] as? String)
                #expect(secret.hasPrefix("ssw_"))
                let stored = try await h.store.tokens()
                #expect(stored.count == 1)
                #expect(stored[0].tokenHash == Secrets.digest(secret))
                #expect(!String(buffer: try await client.send(.get, "/api/v1/tokens", as: admin).body).contains(secret))

                let script = Caller(bearer: secret)
                #expect(try await client.send(.get, "/api/v1/agents", as: script).status == .ok)
                #expect(try await h.store.tokens()[0].lastUsedAt != nil)
                // A viewer token cannot write, and needs no CSRF token to be refused for its role.
                let write = try await client.send(
                    .post,
                    "/api/v1/tests",
                    as: script,
                    json: ["spec": tcpSpec(), "agents": ["a"]]
                )
                #expect(write.status == .forbidden)

                let id = stored[0].id
                #expect(try await client.send(.delete, "/api/v1/tokens/\(id)", as: admin).status == .noContent)
                let revoked = try await client.send(.get, "/api/v1/agents", as: script)
                #expect(revoked.status == .unauthorized)
                #expect(
                    try await client.send(.get, "/api/v1/agents", as: Caller(bearer: "ssw_made_up")).status
                        == .unauthorized
                )
                let kinds = try await h.store.events(limit: 10).map(\.kind)
                #expect(kinds.contains("token.created") && kinds.contains("token.revoked"))
            }
        }
    }

    @Test("an operator token works for writes without CSRF; a disabled owner's token stops working")
    func operatorToken() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let admin = try await client.signIn("admin")
                let created = try await client.send(
                    .post,
                    "/api/v1/tokens",
                    as: admin,
                    json: ["name": "ops", "role": "operator", "expiresInDays": 30]
                )
                let secret = try #require(try created.json()["secret"] as? String)
                let write = try await client.send(
                    .post,
                    "/api/v1/tests",
                    as: Caller(bearer: secret),
                    json: ["spec": tcpSpec(), "agents": ["a"]]
                )
                #expect(write.status == .created)
                #expect(
                    try await client.send(.patch, "/api/v1/users/admin", as: admin, json: ["disabled": true]).status
                        == .badRequest
                )
                // The token belongs to admin; disabling another admin's account is how it would stop.
                _ = try await h.store.updateUser("admin", role: nil, passwordHash: nil, disabled: true)
                #expect(
                    try await client.send(.get, "/api/v1/agents", as: Caller(bearer: secret)).status == .unauthorized
                )
            }
        }
    }

    @Test("changing the password ends every session")
    func passwordChange() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let other = try await client.signIn("viewer")
                let wrong = try await client.send(
                    .post,
                    "/api/v1/auth/password",
                    as: viewer,
                    json: ["currentPassword": "not it at all", "newPassword": "a much newer password"]
                )
                #expect(wrong.status == .forbidden)
                let short = try await client.send(
                    .post,
                    "/api/v1/auth/password",
                    as: viewer,
                    json: ["currentPassword": GatewayHarness.password, "newPassword": "short"]
                )
                #expect(short.status == .badRequest)
                let ok = try await client.send(
                    .post,
                    "/api/v1/auth/password",
                    as: viewer,
                    json: ["currentPassword": GatewayHarness.password, "newPassword": "a much newer password"]
                )
                #expect(ok.status == .noContent)
                #expect(try await client.send(.get, "/api/v1/auth/me", as: other).json()["user"] is NSNull)
                _ = try await client.signIn("viewer", password: "a much newer password")
            }
        }
    }

    @Test("password change: never with an API token, wrong current passwords count against the sign-in limit")
    func passwordChangeHardening() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("admin")
                let created = try await client.send(
                    .post,
                    "/api/v1/tokens",
                    as: viewer,
                    json: ["name": "script", "role": "admin", "expiresInDays": 30]
                )
                let secret = try #require(try created.json()["secret"] as? String)
                let byToken = try await client.send(
                    .post,
                    "/api/v1/auth/password",
                    as: Caller(bearer: secret),
                    json: ["currentPassword": GatewayHarness.password, "newPassword": "a much newer password"]
                )
                #expect(byToken.status == .forbidden)
                #expect(try await h.store.user("admin").map { $0.passwordHash } != nil)
                _ = try await client.signIn("admin")  // unchanged

                let noCSRF = try await client.send(
                    .post,
                    "/api/v1/auth/password",
                    as: viewer,
                    json: ["currentPassword": GatewayHarness.password, "newPassword": "a much newer password"],
                    withCSRF: false
                )
                #expect(noCSRF.status == .forbidden)

                var statuses: [HTTPResponse.Status] = []
                for attempt in 0..<7 {
                    let guess = try await client.send(
                        .post,
                        "/api/v1/auth/password",
                        as: viewer,
                        json: ["currentPassword": "guess number \(attempt)", "newPassword": "a much newer password"]
                    )
                    statuses.append(guess.status)
                }
                #expect(statuses.prefix(5).allSatisfy { $0 == .forbidden })
                #expect(statuses.last == .tooManyRequests)
                // Limited even with the right password now, like sign-in.
                let right = try await client.send(
                    .post,
                    "/api/v1/auth/password",
                    as: viewer,
                    json: ["currentPassword": GatewayHarness.password, "newPassword": "a much newer password"]
                )
                #expect(right.status == .tooManyRequests)
                #expect(right.headers[.retryAfter] != nil)
            }
        }
    }

    @Test("passwords containing NUL are refused: bcrypt would ignore everything after it")
    func nulPasswords() async throws {
        #expect(throws: GatewayError.self) { try PasswordHasher.check("long enough\u{0}password") }
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let sneaky = try await client.send(
                    .post,
                    "/api/v1/auth/login",
                    json: ["username": "admin", "password": GatewayHarness.password + "\u{0}trailing"]
                )
                #expect(sneaky.status == .unauthorized)
            }
        }
    }

    @Test("parallel wrong passwords cannot outrun the limiter: no more than the limit are ever checked")
    func parallelGuesses() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for i in 0..<30 {
                        group.addTask {
                            try await client.send(
                                .post,
                                "/api/v1/auth/login",
                                json: ["username": "viewer", "password": "wrong password \(i)"]
                            ).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .unauthorized }.count <= 5, "\(statuses)")
                #expect(statuses.filter { $0 == .tooManyRequests }.count >= 25)
            }
        }
    }

    @Test("bcrypt work is bounded: checks beyond the cap get 429 with Retry-After at once")
    func boundedPasswordChecks() async throws {
        let configure: (inout Gateway.Configuration) throws -> Void = {
            $0.maxConcurrentPasswordChecks = 1
            // Unknown users are checked against a decoy hash made at this cost (~50 ms).
            $0.passwordHasher = PasswordHasher(cost: 10)
        }
        try await GatewayHarness.with(configure: configure) { h in
            try await h.app.test(.router) { client in
                let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                    for i in 0..<12 {
                        group.addTask {
                            try await client.send(
                                .post,
                                "/api/v1/auth/login",
                                json: ["username": "nobody\(i)", "password": "wrong password!"]
                            )
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let busy = responses.filter { $0.errorMessage.contains("too many passwords at once") }
                #expect(!busy.isEmpty)
                #expect(busy.allSatisfy { $0.status == .tooManyRequests && $0.headers[.retryAfter] == "1" })
                #expect(responses.contains { $0.status == .unauthorized })
            }
        }
    }

    static func login(
        _ client: some TestClientProtocol,
        _ username: String,
        _ password: String,
        forwardedFor: String
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[ClientAddressMiddleware.forwardedFor] = forwardedFor
        return try await client.execute(
            uri: "/api/v1/auth/login",
            method: .post,
            headers: headers,
            body: ByteBuffer(
                bytes: try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
            )
        )
    }

    @Test("a stranger guessing admin locks out only themselves; behind a trusted proxy, clients are told apart")
    func strangerCannotLockOutAdmin() async throws {
        let configure: (inout Gateway.Configuration) throws -> Void = {
            $0.trustedProxies = try TrustedProxies(["127.0.0.0/8"])
        }
        try await GatewayHarness.with(configure: configure) { h in
            try await h.app.test(.live) { client in
                for _ in 0..<5 {
                    let r = try await Self.login(client, "admin", "wrong password!", forwardedFor: "198.51.100.7")
                    #expect(r.status == .unauthorized)
                }
                let stranger = try await Self.login(
                    client,
                    "admin",
                    GatewayHarness.password,
                    forwardedFor: "198.51.100.7"
                )
                #expect(stranger.status == .tooManyRequests)
                // The real admin, from another client behind the same proxy, signs in.
                let admin = try await Self.login(
                    client,
                    "admin",
                    GatewayHarness.password,
                    forwardedFor: "10.9.9.9, 198.51.100.8"
                )
                #expect(admin.status == .ok)
                // A client's own X-Forwarded-For claims (left of the proxy's entry) change nothing.
                let spoofed = try await Self.login(
                    client,
                    "admin",
                    GatewayHarness.password,
                    forwardedFor: "192.0.2.1, 198.51.100.7"
                )
                #expect(spoofed.status == .tooManyRequests)
            }
        }
        // Without trusted proxies the header is ignored: it cannot be used to dodge the limit.
        try await GatewayHarness.with { h in
            try await h.app.test(.live) { client in
                for i in 0..<5 {
                    _ = try await Self.login(client, "admin", "wrong password!", forwardedFor: "198.51.100.\(i)")
                }
                let r = try await Self.login(client, "admin", GatewayHarness.password, forwardedFor: "198.51.100.99")
                #expect(r.status == .tooManyRequests)
            }
        }
    }

    @Test("X-Forwarded-For is read from the right, trusted hops skipped, bad entries refused")
    func trustedProxyParsing() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8", "::1", "fd00::/8"])
        #expect(trusted.client(peer: "10.1.2.3", forwardedFor: "1.1.1.1, 203.0.113.5, 10.0.0.9") == "203.0.113.5")
        #expect(trusted.client(peer: "::1", forwardedFor: "2001:db8::7") == "2001:db8::7")
        #expect(trusted.client(peer: "203.0.113.9", forwardedFor: "1.1.1.1") == "203.0.113.9")
        #expect(trusted.client(peer: "10.1.2.3", forwardedFor: "10.0.0.1") == "10.0.0.1")
        #expect(trusted.client(peer: "10.1.2.3", forwardedFor: "junk, 203.0.113.5") == "203.0.113.5")
        #expect(trusted.client(peer: "10.1.2.3", forwardedFor: "203.0.113.5, junk") == "10.1.2.3")
        #expect(throws: GatewayError.self) { try TrustedProxies(["10.0.0.0/33"]) }
        #expect(throws: GatewayError.self) { try TrustedProxies(["proxy.example"]) }
        #expect(LoginLimiter.clientKey("2001:db8:1:2:aaaa::1") == LoginLimiter.clientKey("2001:db8:1:2:bbbb::9"))
        #expect(LoginLimiter.clientKey("2001:db8:1:2::1") != LoginLimiter.clientKey("2001:db8:1:3::1"))
    }

    @Test("sessions end at their absolute lifetime however busy, and expired ones are purged unasked")
    func sessionLifetimeAndPurge() async throws {
        try await GatewayHarness.with { h in
            let now = Timestamp.now()
            let old = "old-session-secret"
            try await h.store.createSession(
                SessionRecord(
                    tokenHash: Secrets.digest(old),
                    username: "viewer",
                    csrfToken: "c",
                    createdAt: now - .seconds(25 * 3600),
                    lastSeenAt: now
                )
            )
            try await h.app.test(.router) { client in
                let me = try await client.send(.get, "/api/v1/auth/me", as: Caller(cookie: old))
                #expect(try me.json()["user"] is NSNull)
            }
            try await h.store.createSession(
                SessionRecord(
                    tokenHash: "idle",
                    username: "viewer",
                    csrfToken: "c",
                    createdAt: now,
                    lastSeenAt: now - .seconds(3600)
                )
            )
            try await h.store.createSession(
                SessionRecord(tokenHash: "fresh", username: "viewer", csrfToken: "c", createdAt: now, lastSeenAt: now)
            )
            let sweeper = SessionSweeper(
                store: h.store,
                settings: GatewaySettings(store: h.store),
                interval: .seconds(60),
                logger: .init(label: "t")
            )
            await sweeper.sweep()
            #expect(try await h.store.session(tokenHash: "idle") == nil)
            #expect(try await h.store.session(tokenHash: "fresh") != nil)
        }
    }

    @Test("the account audit trail is for admins: viewers and operators do not see user or token events")
    func auditTrailAdminOnly() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let admin = try await client.signIn("admin")
                let created = try await client.send(
                    .post,
                    "/api/v1/users",
                    as: admin,
                    json: ["username": "newcomer", "password": "a long enough password", "role": "viewer"]
                )
                #expect(created.status == .created)
                try await h.store.appendEvent(
                    EventRecord(kind: "test.created", subject: "1", message: "visible to all")
                )
                func kinds(_ caller: Caller, _ path: String, _ key: String) async throws -> [String] {
                    let body = try await client.send(.get, path, as: caller).json()
                    return (body[key] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
                }
                let adminKinds = try await kinds(admin, "/api/v1/events", "events")
                #expect(adminKinds.contains("user.created"))
                for role in ["viewer", "operator"] {
                    let caller = try await client.signIn(role)
                    let seen = try await kinds(caller, "/api/v1/events", "events")
                    #expect(seen.contains("test.created"))
                    #expect(!seen.contains { $0.hasPrefix("user.") || $0.hasPrefix("token.") }, "\(role): \(seen)")
                    let overview = try await kinds(caller, "/api/v1/overview", "events")
                    #expect(!overview.contains { $0.hasPrefix("user.") })
                }
            }
        }
    }
}
