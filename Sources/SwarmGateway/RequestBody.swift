import Foundation
import Hummingbird
import Logging
import NIOCore

/// A request body decoded strictly: bounded size, a JSON object, no unknown fields.
///
/// Codable alone ignores fields it does not know; an operator who misspells `"role"` should hear
/// about it instead of getting the default.
protocol StrictBody: Decodable {
    static var fields: Set<String> { get }
}

extension Request {
    /// Reads and decodes the body as `T`, refusing oversized, malformed or unknown input with a 4xx.
    func decodeStrict<T: StrictBody>(_ type: T.Type, context: GatewayContext) async throws -> T {
        let (object, data) = try await jsonObject(context: context)
        if let unknown = object.keys.filter({ !T.fields.contains($0) }).sorted().first {
            throw GatewayError.badRequest(
                "unknown field '\(unknown)': expected some of \(T.fields.sorted().joined(separator: ", "))"
            )
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw GatewayError.badRequest("missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw GatewayError.badRequest(
                "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
            )
        } catch let DecodingError.valueNotFound(_, context) {
            throw GatewayError.badRequest(
                "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' must not be null"
            )
        } catch let DecodingError.dataCorrupted(decoding) where !decoding.codingPath.isEmpty {
            throw GatewayError.badRequest(
                "field '\(decoding.codingPath.map(\.stringValue).joined(separator: "."))' has an invalid value"
            )
        } catch {
            // The decoder's description names Swift types: log it, answer in our words.
            context.logger.notice("request body refused: \(error)")
            throw GatewayError.badRequest("the request body does not match the expected shape")
        }
    }

    /// The body as a JSON object, with its bytes.
    func jsonObject(context: GatewayContext) async throws -> ([String: JSONValue], Data) {
        // A cross-site HTML form can post text/plain but never application/json without a CORS
        // preflight, which the gateway does not grant: requiring the type closes that door.
        let type = headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/json") else {
            throw GatewayError(
                .unsupportedMediaType,
                "send the body as JSON with 'Content-Type: application/json' (got '\(type.prefix(80))')"
            )
        }
        var request = self
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw GatewayError(.contentTooLarge, "the request body is larger than \(context.maxUploadSize) bytes")
        }
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { throw GatewayError.badRequest("the request needs a JSON body") }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw GatewayError.badRequest("the request body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw GatewayError.badRequest("the request body must be a JSON object")
        }
        return (object, data)
    }
}
