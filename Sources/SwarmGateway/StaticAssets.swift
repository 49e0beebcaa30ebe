import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwarmStore

/// The web UI, read once from the target's resources and served from memory.
///
/// Lookups are by exact name in a fixed table, so no request path can reach the file system
/// (`..`, encoded slashes and absolute paths simply do not match).
struct StaticAssets: Sendable {
    struct Asset: Sendable {
        var body: ByteBuffer
        var contentType: String
        var etag: String
    }

    private(set) var assets: [String: Asset] = [:]

    /// Loads every file under `directory` as `/ui/<relative path>`.
    init(directory: URL) throws {
        let root = directory.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw GatewayError(.internalServerError, "UI assets are missing at \(root): reinstall StreamSwarm")
        }
        while let relative = walker.nextObject() as? String {
            let path = root + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let digest = Secrets.digest(data).prefix(16)
            assets["/ui/" + relative] = Asset(
                body: ByteBuffer(bytes: data),
                contentType: Self.contentType(of: relative),
                etag: "\"\(digest)\""
            )
        }
    }

    /// The bundled UI directory.
    static var bundledDirectory: URL? {
        Bundle.module.resourceURL?.appendingPathComponent("ui")
    }

    func response(for path: String, request: Request) -> Response? {
        guard let asset = assets[path] else { return nil }
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: [.eTag: asset.etag])
        }
        return Response(
            status: .ok,
            headers: [.contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache"],
            body: .init(byteBuffer: asset.body)
        )
    }

    private static func contentType(of name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "html": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "json": "application/json; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        default: "application/octet-stream"
        }
    }
}

/// Security headers on every response: the UI runs only its own scripts and cannot be framed.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = GatewayContext
    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

    func handle(
        _ request: Request,
        context: GatewayContext,
        next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as GatewayError {
            response = try error.response(from: request, context: context)
        } catch let error as StoreError {
            if ![.notFound, .invalidInput, .conflict].contains(error.code) {
                context.logger.error("store error on \(request.method) \(request.uri.path): \(error)")
            }
            response = try GatewayError.from(error).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            // Hummingbird's own errors (no route, body too large) in the same JSON shape.
            let message =
                error.status == .notFound
                ? "no such endpoint: \(request.method) \(request.uri.path)" : "\(error.status.reasonPhrase)"
            response = try GatewayError(error.status, message).response(from: request, context: context)
        } catch {
            context.logger.error("request failed: \(error)")
            response = try GatewayError(.internalServerError, "internal error: the gateway log has the details")
                .response(from: request, context: context)
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.contentTypeOptions] = "nosniff"
        response.headers[.frameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        return response
    }
}
