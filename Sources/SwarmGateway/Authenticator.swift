import Hummingbird
import Logging
import SwarmCore
import SwarmStore

/// Resolves the caller from the session cookie or the bearer token. It never refuses by itself
/// (routes decide what they need) except for a bearer token that is present but invalid.
struct Authenticator: RouterMiddleware {
    typealias Context = GatewayContext
    static let cookieName = "ss_session"
    /// Last-seen and last-used times are written at most this often per session or token.
    static let touchInterval: Duration = .seconds(30)

    let store: any Store
    let settings: GatewaySettings

    func handle(
        _ request: Request,
        context: GatewayContext,
        next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        do {
            context.principal = try await principal(for: request)
        } catch let error as StoreError {
            throw GatewayError.from(error)
        }
        if let principal = context.principal {
            context.logger[metadataKey: "swarm.gateway.user"] = "\(principal.username)"
        }
        return try await next(request, context)
    }

    private func principal(for request: Request) async throws -> Principal? {
        if let authorization = request.headers[.authorization] {
            guard authorization.hasPrefix("Bearer ") else {
                throw GatewayError(.unauthorized, "the Authorization header must be 'Bearer <API token>'")
            }
            return try await tokenPrincipal(String(authorization.dropFirst("Bearer ".count)))
        }
        guard let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty else { return nil }
        let hash = Secrets.digest(cookie)
        guard let session = try await store.session(tokenHash: hash) else { return nil }
        let now = Timestamp.now()
        let idle = Duration.seconds(try await settings.value("sessionIdleMinutes") * 60)
        if now - session.lastSeenAt > idle {
            try await store.deleteSession(tokenHash: hash)
            return nil
        }
        guard let user = try await store.user(session.username), !user.disabled else { return nil }
        if now - session.lastSeenAt > Self.touchInterval { try await store.touchSession(tokenHash: hash, at: now) }
        return Principal(
            username: user.username,
            role: user.role,
            method: .session(tokenHash: hash, csrfToken: session.csrfToken)
        )
    }

    private func tokenPrincipal(_ secret: String) async throws -> Principal {
        let invalid = GatewayError(
            .unauthorized,
            "the API token is unknown, revoked or expired: create a new one (Tokens page or POST /api/v1/tokens)"
        )
        guard secret.hasPrefix("ssw_"), secret.count < 200,
            let token = try await store.token(hash: Secrets.digest(secret))
        else { throw invalid }
        let now = Timestamp.now()
        if let expires = token.expiresAt, expires <= now { throw invalid }
        guard let owner = try await store.user(token.owner), !owner.disabled else { throw invalid }
        if token.lastUsedAt.map({ now - $0 > Self.touchInterval }) ?? true {
            try await store.touchToken(id: token.id, at: now)
        }
        // A token never exceeds its owner's current role.
        return Principal(username: owner.username, role: min(token.role, owner.role), method: .token(id: token.id))
    }
}
