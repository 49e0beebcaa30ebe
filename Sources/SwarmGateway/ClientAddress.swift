import Foundation
import HTTPTypes
import Hummingbird

/// Addresses of reverse proxies whose `X-Forwarded-For` the gateway believes.
///
/// Without trusted proxies the peer address is the client; with them, the client is the first
/// address, reading `X-Forwarded-For` from the right, that is not itself a trusted proxy: the
/// entries to the left of it are the client's own claims and could be anything.
public struct TrustedProxies: Sendable, Hashable {
    struct Network: Sendable, Hashable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefix
            for (a, b) in zip(address, bytes) where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if a & mask != b & mask { return false }
                remaining -= bits
            }
            return true
        }
    }
    let networks: [Network]

    public static let none = TrustedProxies(networks: [])

    init(networks: [Network]) { self.networks = networks }

    /// - Parameter entries: addresses (`10.0.0.5`, `::1`) or networks (`10.0.0.0/8`, `fd00::/8`).
    /// - Throws: ``GatewayError`` naming the entry that is neither.
    public init(_ entries: [String]) throws {
        networks = try entries.map { entry in
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = Self.parse(parts.first ?? "") else {
                throw GatewayError.badRequest(
                    "trusted proxy '\(entry)' is not an IP address or network (e.g. 10.0.0.0/8)"
                )
            }
            let bits = bytes.count * 8
            let prefix = parts.count == 2 ? Int(parts[1]) : bits
            guard let prefix, (0...bits).contains(prefix) else {
                throw GatewayError.badRequest("trusted proxy '\(entry)' has a prefix length outside 0...\(bits)")
            }
            return Network(bytes: bytes, prefix: prefix)
        }
    }

    public var isEmpty: Bool { networks.isEmpty }

    func contains(_ address: String) -> Bool {
        guard let bytes = Self.parse(address) else { return false }
        return networks.contains { $0.contains(bytes) }
    }

    /// The client's address for a request from `peer` carrying `forwardedFor`.
    func client(peer: String, forwardedFor: String?) -> String {
        guard contains(peer), let forwardedFor else { return peer }
        var client = peer
        for hop in forwardedFor.split(separator: ",").reversed() {
            let address = hop.trimmingCharacters(in: .whitespaces)
            // A hop that is not an address came from a broken proxy: stop at the last one we trust.
            guard Self.parse(address) != nil else { break }
            client = address
            if !contains(address) { break }
        }
        return client
    }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}

/// Replaces the peer address with the client a trusted proxy forwarded for, before any route runs.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let trusted: TrustedProxies
    // swift-format-ignore: NeverForceUnwrap
    // A constant, valid header name.
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func handle(
        _ request: Request,
        context: GatewayContext,
        next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        guard !trusted.isEmpty else { return try await next(request, context) }
        var context = context
        let forwarded = request.headers[values: Self.forwardedFor].joined(separator: ",")
        context.remoteAddress = trusted.client(
            peer: context.remoteAddress,
            forwardedFor: forwarded.isEmpty ? nil : forwarded
        )
        return try await next(request, context)
    }
}
