// why: the route table is public so tests and the OpenAPI check can walk it.
public import HTTPTypes
import Hummingbird
public import SwarmCore

/// Who may call an endpoint. Every route states one; there is no default.
public enum Access: Sendable, Hashable {
    /// No sign-in: health, the OpenAPI document, login.
    case anyone
    /// Signed in with at least this role.
    case role(Role)
}

/// One API endpoint as registered: what the OpenAPI document and the access test check.
public struct RouteEntry: Sendable, Hashable {
    public var method: HTTPRequest.Method
    /// The path in OpenAPI form, e.g. `/api/v1/tests/{id}`.
    public var path: String
    public var access: Access
}

/// Registers API routes with their required access, enforcing it (and CSRF) before the handler.
final class APIRouteBuilder {
    private let group: RouterGroup<GatewayContext>
    private let prefix: String
    private(set) var entries: [RouteEntry] = []

    init(group: RouterGroup<GatewayContext>, prefix: String) {
        self.group = group
        self.prefix = prefix
    }

    /// Adds `method path` (Hummingbird form, `:id` for parameters) requiring `access`.
    func on(
        _ method: HTTPRequest.Method,
        _ path: String,
        _ access: Access,
        handler: @escaping @Sendable (Request, GatewayContext) async throws -> Response
    ) {
        let openAPIPath =
            prefix + "/"
            + path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(
                separator: "/"
            )
        entries.append(RouteEntry(method: method, path: openAPIPath, access: access))
        group.on(RouterPath(path), method: method) { request, context in
            try Self.authorize(access, request: request, context: context)
            return try await handler(request, context)
        }
    }

    static func authorize(_ access: Access, request: Request, context: GatewayContext) throws {
        guard case .role(let required) = access else { return }
        guard let principal = context.principal else { throw GatewayError.unauthenticated }
        guard principal.role.allows(required) else {
            throw GatewayError.forbidden(
                "this needs the \(required.rawValue) role; you are signed in as \(principal.username) (\(principal.role.rawValue))"
            )
        }
        let safe = request.method == .get || request.method == .head
        if !safe, case .session(_, let csrf) = principal.method {
            let sent = request.headers[.csrfToken] ?? ""
            guard Secrets.constantTimeEquals(sent, csrf) else {
                throw GatewayError.forbidden(
                    "missing or wrong X-CSRF-Token header: browser writes must send the token from GET /api/v1/auth/me"
                )
            }
        }
    }
}

extension HTTPField.Name {
    /// Sent by the browser on cookie-authenticated writes.
    static let csrfToken = constant("X-CSRF-Token")
    static let contentTypeOptions = constant("X-Content-Type-Options")
    static let frameOptions = constant("X-Frame-Options")
    static let referrerPolicy = constant("Referrer-Policy")
    static let accelBuffering = constant("X-Accel-Buffering")

    /// A header name written in this file: valid by construction, so a failure is a programming error.
    private static func constant(_ name: String) -> HTTPField.Name {
        guard let field = HTTPField.Name(name) else { preconditionFailure("invalid header name \(name)") }
        return field
    }
}
