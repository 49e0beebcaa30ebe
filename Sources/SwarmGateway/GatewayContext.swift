// why: the context conforms to Hummingbird's RequestContext, whose requirements use these types.
public import Hummingbird
public import SwarmCore

/// Who is asking: resolved from the session cookie or the bearer token before any route runs.
public struct Principal: Sendable, Hashable {
    public enum Method: Sendable, Hashable {
        /// A browser session: writes need the session's CSRF token.
        case session(tokenHash: String, csrfToken: String)
        case token(id: Int64)
    }
    public var username: String
    public var role: Role
    public var method: Method
}

/// The request context of every gateway route: Hummingbird's core storage plus the caller.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the authenticator; nil for anonymous callers.
    public var principal: Principal?
    /// The client's IP address (login rate limiting, logs): the peer, or for a request through a
    /// trusted proxy the client it names in `X-Forwarded-For` (set by ``ClientAddressMiddleware``).
    public internal(set) var remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Request bodies larger than this are refused with 413 before decoding.
    public var maxUploadSize: Int { 1 << 20 }
}
