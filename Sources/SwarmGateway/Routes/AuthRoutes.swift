import Foundation
import Hummingbird
import Logging
import SwarmCore
import SwarmStore

/// Sign-in, sign-out, who-am-I and password change.
struct AuthRoutes {
    let store: any Store
    let hasher: PasswordHasher
    let limiter: LoginLimiter
    /// Signing out ends that session's live-update streams; a password change ends all the user's.
    let live: LiveEvents
    let settings: GatewaySettings
    /// Sets `Secure` on the session cookie (the gateway sits behind TLS).
    let secureCookies: Bool
    /// A bcrypt hash of a random string at the configured cost: unknown users are "verified"
    /// against it, so timing does not reveal which usernames exist.
    let decoyHash: String

    struct Login: StrictBody {
        static let fields: Set<String> = ["username", "password"]
        var username: String
        var password: String
    }

    struct PasswordChange: StrictBody {
        static let fields: Set<String> = ["currentPassword", "newPassword"]
        var currentPassword: String
        var newPassword: String
    }

    struct Me: Encodable {
        struct User: Encodable {
            var username: String
            var role: String
        }
        var user: User?
        var csrfToken: String?
        var authMethod: String

        enum CodingKeys: String, CodingKey { case user, csrfToken, authMethod }

        /// `user` is written as null when signed out (absent would read as a missing field).
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(user, forKey: .user)
            try container.encodeIfPresent(csrfToken, forKey: .csrfToken)
            try container.encode(authMethod, forKey: .authMethod)
        }
    }

    func add(to api: APIRouteBuilder) {
        api.on(.post, "auth/login", .anyone) { request, context in try await login(request, context) }
        api.on(.post, "auth/logout", .role(.viewer)) { _, context in
            if let principal = context.principal, case .session(let hash, _) = principal.method {
                try await store.deleteSession(tokenHash: hash)
                live.endStreams(of: principal.username, sessionTokenHash: hash)
            }
            var response = JSONResponse.noContent
            response.setCookie(cookie(value: "", maxAge: 0))
            return response
        }
        // Public so a signed-out browser learns it without a 401 (which Chrome logs as an error).
        api.on(.get, "auth/me", .anyone) { _, context in
            guard let principal = context.principal else {
                return try JSONResponse.make(Me(user: nil, csrfToken: nil, authMethod: "none"))
            }
            var csrf: String?
            var method = "token"
            if case .session(_, let token) = principal.method {
                csrf = token
                method = "session"
            }
            return try JSONResponse.make(
                Me(
                    user: .init(username: principal.username, role: principal.role.rawValue),
                    csrfToken: csrf,
                    authMethod: method
                )
            )
        }
        api.on(.post, "auth/password", .role(.viewer)) { request, context in
            try await changePassword(request, context)
        }
    }

    /// Password change: a browser session only (an API token must never become a guessing oracle
    /// for its owner's password), CSRF-checked by the route builder, and counted by the sign-in
    /// limiter like a failed sign-in.
    private func changePassword(_ request: Request, _ context: GatewayContext) async throws -> Response {
        guard let principal = context.principal else { throw GatewayError.unauthenticated }
        guard case .session = principal.method else {
            throw GatewayError.forbidden(
                "a password is changed from a signed-in browser session only, never with an API token"
            )
        }
        let body = try await request.decodeStrict(PasswordChange.self, context: context)
        let current = try await checkingPassword(
            of: principal.username,
            context,
            refusal: "too many wrong passwords"
        ) {
            guard let user = try await store.user(principal.username),
                try await hasher.verify(body.currentPassword, hash: user.passwordHash)
            else { return false }
            return true
        }
        guard current else { throw GatewayError(.forbidden, "the current password is wrong") }
        try PasswordHasher.check(body.newPassword)
        _ = try await store.updateUser(
            principal.username,
            role: nil,
            passwordHash: try await hasher.hash(body.newPassword),
            disabled: nil
        )
        live.endStreams(of: principal.username)
        try await store.appendEvent(
            EventRecord(
                kind: "user.password",
                subject: principal.username,
                message: "\(principal.username) changed their password from \(context.remoteAddress)"
            )
        )
        // Every session ended with the change, this one included: sign in again.
        var response = JSONResponse.noContent
        response.setCookie(cookie(value: "", maxAge: 0))
        return response
    }

    /// Runs one password check under the limiter: the attempt is reserved (counted as a failure)
    /// before bcrypt runs, so parallel guesses cannot outrun the count.
    ///
    /// - Returns: What `check` returned; a thrown error counts as a failure.
    /// - Throws: 429 with Retry-After when the (username, client) pair or the client is over its
    ///   limit, or when too many password checks are running at once.
    private func checkingPassword(
        of username: String,
        _ context: GatewayContext,
        refusal: String,
        _ check: () async throws -> Bool
    ) async throws -> Bool {
        let limit = try await settings.value("loginAttemptsPerMinute")
        let reservation: LoginLimiter.Reservation
        switch limiter.reserve(client: context.remoteAddress, username: username, limit: limit) {
        case .allowed(let granted):
            reservation = granted
        case .limited(let wait):
            context.logger.notice("\(refusal) for '\(username.prefix(64))' from \(context.remoteAddress): refused")
            throw GatewayError(
                .tooManyRequests,
                "\(refusal): try again in \(wait) s",
                headers: [.retryAfter: String(wait)]
            )
        case .busy:
            context.logger.warning("password check refused: too many running at once (from \(context.remoteAddress))")
            throw GatewayError(
                .tooManyRequests,
                "the server is checking too many passwords at once: try again in 1 s",
                headers: [.retryAfter: "1"]
            )
        }
        do {
            let succeeded = try await check()
            limiter.finish(reservation, succeeded: succeeded)
            return succeeded
        } catch {
            limiter.finish(reservation, succeeded: false)
            throw error
        }
    }

    private func login(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let body = try await request.decodeStrict(Login.self, context: context)
        var signedIn: UserRecord?
        _ = try await checkingPassword(of: body.username, context, refusal: "too many failed sign-ins") {
            let user = UserRecord.isValidUsername(body.username) ? try await store.user(body.username) : nil
            // Verify against a fixed hash when the user is unknown, so timing does not reveal which users exist.
            let valid = try await hasher.verify(body.password, hash: user?.passwordHash ?? decoyHash)
            guard let user, valid, !user.disabled else { return false }
            signedIn = user
            return true
        }
        guard let user = signedIn else {
            context.logger.notice("failed sign-in for '\(body.username.prefix(64))' from \(context.remoteAddress)")
            throw GatewayError(.unauthorized, "wrong username or password")
        }
        let secret = Secrets.random()
        let csrf = Secrets.random()
        let now = Timestamp.now()
        try await store.createSession(
            SessionRecord(
                tokenHash: Secrets.digest(secret),
                username: user.username,
                csrfToken: csrf,
                createdAt: now,
                lastSeenAt: now
            )
        )
        try await store.recordLogin(user.username, at: now)
        context.logger.info("\(user.username) signed in from \(context.remoteAddress)")
        var response = try JSONResponse.make(
            Me(user: .init(username: user.username, role: user.role.rawValue), csrfToken: csrf, authMethod: "session")
        )
        response.setCookie(cookie(value: secret, maxAge: nil))
        return response
    }

    private func cookie(value: String, maxAge: Int?) -> Cookie {
        Cookie(
            name: Authenticator.cookieName,
            value: value,
            maxAge: maxAge,
            path: "/",
            secure: secureCookies,
            httpOnly: true,
            sameSite: .strict
        )
    }

}
