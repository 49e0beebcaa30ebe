import Hummingbird
import Logging
import SwarmCore
import SwarmStore
import Synchronization

/// Resolves the caller from the session cookie or the bearer token. It never refuses by itself
/// (routes decide what they need) except for a bearer token that is present but invalid.
struct Authenticator: RouterMiddleware {
    typealias Context = GatewayContext
    static let cookieName = "ss_session"
    /// Last-seen and last-used times are written at most this often per session or token.
    static let touchInterval: Duration = .seconds(30)

    let store: any Store
    let settings: GatewaySettings
    let cache: PrincipalCache

    func handle(
        _ request: Request,
        context: GatewayContext,
        next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        let key = request.headers[.authorization] ?? request.cookies[Self.cookieName]?.value ?? ""
        let safe = request.method == .get || request.method == .head
        if safe, !key.isEmpty, let cached = cache.lookup(key) {
            context.principal = cached
        } else {
            // Writes always resolve afresh and reset the cache, so a sign-out, a revoked token or
            // a role change through this gateway takes effect at once (through others within the TTL).
            if !safe { cache.clear() }
            do {
                context.principal = try await principal(for: request)
            } catch let error as StoreError {
                context.logger.error("could not resolve the caller: \(error)")
                throw GatewayError.from(error)
            }
            if safe, !key.isEmpty, let principal = context.principal { cache.store(key, principal) }
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
        if try await Self.hasExpired(session, at: now, settings: settings) {
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

    /// Idle too long, or older than the absolute lifetime however busy it was.
    static func hasExpired(_ session: SessionRecord, at now: Timestamp, settings: GatewaySettings) async throws -> Bool
    {
        let idle = Duration.seconds(try await settings.value("sessionIdleMinutes") * 60)
        let lifetime = Duration.seconds(try await settings.value("sessionLifetimeHours") * 3600)
        return now - session.lastSeenAt > idle || now - session.createdAt > lifetime
    }

    /// Whether a caller resolved earlier would still be let in (open live-update streams ask).
    static func isStillValid(_ principal: Principal, store: any Store, settings: GatewaySettings) async throws -> Bool {
        let now = Timestamp.now()
        switch principal.method {
        case .session(let hash, _):
            guard let session = try await store.session(tokenHash: hash),
                try await !hasExpired(session, at: now, settings: settings)
            else { return false }
        case .token(let id):
            guard let token = try await store.tokens().first(where: { $0.id == id }) else { return false }
            if let expires = token.expiresAt, expires <= now { return false }
        }
        guard let user = try await store.user(principal.username) else { return false }
        return !user.disabled
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

/// Resolved callers for a short time: without it every API read costs two store reads for the
/// token or session and its user before any work is done.
final class PrincipalCache: Sendable {
    private let entries = Mutex<[String: (principal: Principal, until: ContinuousClock.Instant)]>([:])
    private let ttl: Duration

    init(ttl: Duration) { self.ttl = ttl }

    func lookup(_ key: String) -> Principal? {
        guard ttl > .zero else { return nil }
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.until < .now {
                entries[key] = nil
                return nil
            }
            return entry.principal
        }
    }

    func store(_ key: String, _ principal: Principal) {
        guard ttl > .zero else { return }
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[key] = (principal, .now + ttl)
        }
    }

    func clear() { entries.withLock { $0.removeAll() } }
}
