import Foundation
import SwarmCore

/// Where one HTTP request goes: scheme, host, port and request target, from an absolute URL.
struct HTTPTarget: Hashable, Sendable, CustomStringConvertible {
    var isTLS: Bool
    /// Host name or address literal, without IPv6 brackets.
    var host: String
    var port: Int
    /// Path and query, as sent in the request line.
    var requestTarget: String

    /// The target of a spec: `target.url`, else `http://host:port/` (`https` when the port is 443).
    static func from(_ target: TestSpec.Target) -> HTTPTarget? {
        if !target.url.isEmpty { return parse(target.url) }
        let host = target.host.contains(":") ? "[\(target.host)]" : target.host
        let scheme = target.port == 443 ? "https" : "http"
        return parse(target.port == 0 ? "\(scheme)://\(host)/" : "\(scheme)://\(host):\(target.port)/")
    }

    /// Parses an absolute http or https URL; nil for anything else.
    static func parse(_ text: String) -> HTTPTarget? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", var host = components.host, !host.isEmpty
        else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let isTLS = scheme == "https"
        let port = components.port ?? (isTLS ? 443 : 80)
        guard (1...65535).contains(port) else { return nil }
        var requestTarget = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { requestTarget += "?" + query }
        return HTTPTarget(isTLS: isTLS, host: host, port: port, requestTarget: requestTarget)
    }

    /// The target a `Location` header points to, resolved against this one (RFC 9110 §10.2.2).
    func resolving(location: String) -> HTTPTarget? {
        guard let base = URL(string: description), let resolved = URL(string: location, relativeTo: base) else {
            return nil
        }
        return Self.parse(resolved.absoluteString)
    }

    var isDefaultPort: Bool { port == (isTLS ? 443 : 80) }

    /// The Host header value (RFC 9110 §7.2): the port only when it is not the scheme's default.
    var hostHeader: String {
        let literal = host.contains(":") ? "[\(host)]" : host
        return isDefaultPort ? literal : "\(literal):\(port)"
    }

    var description: String { "\(isTLS ? "https" : "http")://\(hostHeader)\(requestTarget)" }
}
