import Foundation
// why: conforms to Hummingbird's HTTPResponseError, whose requirements use these types.
public import HTTPTypes
public import Hummingbird
import NIOCore
import SwarmStore

/// A request the gateway refuses or cannot serve, rendered as `{"error":{"message":…}}`.
///
/// The message says what happened and what to do; it never carries stored secrets.
public struct GatewayError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// Extra headers, e.g. `Retry-After` for a rate-limited login.
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(ErrorBody(error: .init(message: message)))
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private struct ErrorBody: Encodable {
        struct Inner: Encodable { var message: String }
        var error: Inner
    }

    static func badRequest(_ message: String) -> Self { Self(.badRequest, message) }
    static func notFound(_ message: String) -> Self { Self(.notFound, message) }
    static func forbidden(_ message: String) -> Self { Self(.forbidden, message) }
    static var unauthenticated: Self {
        Self(.unauthorized, "sign in first (POST /api/v1/auth/login) or send 'Authorization: Bearer <API token>'")
    }

    /// Maps a store failure to the status a client can act on.
    static func from(_ error: StoreError) -> Self {
        switch error.code {
        case .notFound: Self(.notFound, error.message)
        case .invalidInput: Self(.badRequest, error.message)
        case .conflict: Self(.conflict, error.message)
        // The store's own text (SQLite's) stays in the log; the caller learns what to do.
        default:
            Self(.serviceUnavailable, "the store is unavailable: try again shortly (the gateway log has the details)")
        }
    }
}
