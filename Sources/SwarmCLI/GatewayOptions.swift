import ArgumentParser
import Foundation
import SwarmGateway

/// Flags for the gateway's connection limits and proxies, shared by the commands that run one.
struct GatewayOptions: ParsableArguments {
    @Option(
        name: .customLong("trusted-proxy"),
        help:
            "A reverse proxy (address or network, e.g. 10.0.0.0/8) whose X-Forwarded-For names the client; repeatable."
    )
    var trustedProxies: [String] = []
    @Option(
        name: .customLong("http-max-connections"),
        help: "Open HTTP connections at most (default: a quarter of the descriptor limit, at most 4096)."
    )
    var maxConnections: Int?
    @Option(name: .customLong("http-header-timeout"), help: "Time from a request's first byte to its complete head.")
    var headerTimeout: String = "10s"
    @Option(name: .customLong("http-body-timeout"), help: "Time from a request's head to the end of its body.")
    var bodyTimeout: String = "30s"
    @Option(
        name: .customLong("http-idle-timeout"),
        help: "A keep-alive connection with no request is closed after this."
    )
    var idleTimeout: String = "60s"

    /// Applies the flags to `configuration`; bad values are usage errors naming the flag.
    func apply(to configuration: inout Gateway.Configuration) throws {
        do {
            configuration.trustedProxies = try TrustedProxies(
                trustedProxies.flatMap {
                    $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
                }
            )
        } catch {
            throw ValidationError("--trusted-proxy: \((error as? GatewayError)?.message ?? "\(error)")")
        }
        if let maxConnections {
            guard maxConnections >= 1 else { throw ValidationError("--http-max-connections must be at least 1") }
            configuration.limits.maxConnections = maxConnections
        }
        configuration.limits.headerTimeout = try parseDuration(headerTimeout, option: "--http-header-timeout")
        configuration.limits.bodyTimeout = try parseDuration(bodyTimeout, option: "--http-body-timeout")
        configuration.limits.idleTimeout = try parseDuration(idleTimeout, option: "--http-idle-timeout")
    }
}
