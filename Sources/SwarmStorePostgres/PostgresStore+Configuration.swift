import Foundation
import NIOSSL
import PostgresNIO
// why: the configuration's init throws SwarmStore's StoreError.
public import SwarmStore

extension PostgresStore {
    /// Where the database is and how to talk to it.
    ///
    /// ``init(url:)`` takes the libpq URL form
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE?sslmode=MODE&sslrootcert=FILE`, with the
    /// user and password percent-encoded. `sslmode` is one of:
    /// - `disable`: no TLS;
    /// - `prefer` (the default, as in libpq): TLS when the server offers it, without certificate checks;
    /// - `require`: TLS or no connection, without certificate checks (libpq's `require`);
    /// - `verify-full`: TLS with the server certificate verified against the system roots (or
    ///   `sslrootcert`) and its name matched to the host.
    ///
    /// The password never appears in ``description`` or in an error message.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// How a connection is secured (libpq's `sslmode`).
        public enum TLSMode: String, Sendable, Hashable, CaseIterable {
            case disable
            case prefer
            case require
            case verifyFull = "verify-full"
        }

        public var host: String
        /// Defaults to 5432.
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        /// Defaults to ``TLSMode/prefer``.
        public var tls: TLSMode
        /// A PEM file of CA certificates for ``TLSMode/verifyFull``; nil uses the system roots.
        public var rootCertificatePath: String?
        /// Connections the pool opens at most while ``PostgresStore/run()`` runs. Defaults to 20.
        public var maximumConnections: Int = 20
        /// How long a connection attempt may take. Defaults to 10 s.
        public var connectTimeout: Duration = .seconds(10)
        /// How long change-log rows are kept for handles that lost their LISTEN connection.
        /// Defaults to 10 minutes, as on SQLite; a handle that was away longer publishes
        /// ``StoreChange/testsChanged`` instead.
        public var changeRetention: Duration = .seconds(600)
        /// How long the LISTEN loop waits before connecting again after losing its connection.
        /// Defaults to 1 s.
        public var listenRetryInterval: Duration = .seconds(1)

        public init(
            host: String = "127.0.0.1",
            port: Int = 5432,
            username: String,
            password: String? = nil,
            database: String,
            tls: TLSMode = .prefer
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
        }

        /// Parses a `postgres://` or `postgresql://` URL (libpq form).
        ///
        /// - Throws: ``StoreError`` `.invalidInput` saying which part is wrong and giving an accepted
        ///   example. The message never repeats the URL, since it may carry a password.
        public init(url: String) throws(StoreError) {
            let example = "postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require"
            func invalid(_ what: String) -> StoreError {
                StoreError(code: .invalidInput, message: "the PostgreSQL URL \(what); use \(example)")
            }
            let lowered = url.lowercased()
            guard lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") else {
                throw invalid("must start with postgres:// or postgresql://")
            }
            guard let components = URLComponents(string: url) else { throw invalid("does not parse as a URL") }
            guard var host = components.host, !host.isEmpty else { throw invalid("names no host") }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard let user = components.user, !user.isEmpty else { throw invalid("names no user") }
            let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            guard !path.contains("/") else { throw invalid("has a path of more than one segment") }
            var port = 5432
            if let given = components.port {
                guard (1...65535).contains(given) else { throw invalid("has port \(given), outside 1–65535") }
                port = given
            }
            self.init(
                host: host,
                port: port,
                username: user,
                password: components.password,
                // libpq: the database defaults to the user's name.
                database: path.isEmpty ? user : path
            )
            for item in components.queryItems ?? [] {
                switch item.name {
                case "sslmode":
                    guard let mode = TLSMode(rawValue: item.value ?? "") else {
                        throw invalid(
                            "has sslmode=\(item.value ?? ""), which is not one of "
                                + TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                        )
                    }
                    tls = mode
                case "sslrootcert":
                    rootCertificatePath = item.value
                case "connect_timeout":
                    guard let seconds = item.value.flatMap(Int.init), seconds > 0 else {
                        throw invalid("has a connect_timeout that is not a positive number of seconds")
                    }
                    connectTimeout = .seconds(seconds)
                default:
                    throw invalid("has parameter '\(item.name)', which is not sslmode, sslrootcert or connect_timeout")
                }
            }
        }

        /// The URL that parses back to this configuration, password included: for handing to a
        /// child process (`--db`), never for a log (use ``description``).
        public var url: String {
            var components = URLComponents()
            components.scheme = "postgres"
            components.user = username
            components.password = password
            components.host = host.contains(":") ? "[\(host)]" : host
            components.port = port
            components.path = "/\(database)"
            var items = [URLQueryItem(name: "sslmode", value: tls.rawValue)]
            if let rootCertificatePath { items.append(URLQueryItem(name: "sslrootcert", value: rootCertificatePath)) }
            components.queryItems = items
            return components.string ?? description
        }

        /// The URL with the password replaced by `***`.
        public var description: String {
            let secret = password == nil ? "" : ":***"
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "postgres://\(username)\(secret)@\(shownHost):\(port)/\(database)?sslmode=\(tls.rawValue)"
        }

        /// The TLS settings of `sslmode` (nil for `disable`), and whether TLS is required.
        private func tlsSettings() -> (configuration: TLSConfiguration, required: Bool)? {
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            tlsConfiguration.minimumTLSVersion = .tlsv12
            switch tls {
            case .disable:
                return nil
            case .prefer, .require:
                tlsConfiguration.certificateVerification = .none
            case .verifyFull:
                tlsConfiguration.certificateVerification = .fullVerification
                if let rootCertificatePath { tlsConfiguration.trustRoots = .file(rootCertificatePath) }
            }
            return (tlsConfiguration, tls != .prefer)
        }

        func makeClientConfiguration() -> PostgresClient.Configuration {
            let tls: PostgresClient.Configuration.TLS
            switch tlsSettings() {
            case nil: tls = .disable
            case .some((let configuration, true)): tls = .require(configuration)
            case .some((let configuration, false)): tls = .prefer(configuration)
            }
            var configuration = PostgresClient.Configuration(
                host: host,
                port: port,
                username: username,
                password: password,
                database: database,
                tls: tls
            )
            configuration.options.connectTimeout = connectTimeout
            configuration.options.additionalStartupParameters = [("application_name", "streamswarm")]
            return configuration
        }

        /// A single connection's settings (the LISTEN connection, a CLI command's own).
        ///
        /// - Throws: when the TLS settings do not make a TLS context (an unreadable `sslrootcert`).
        func makeConnectionConfiguration() throws -> PostgresConnection.Configuration {
            let tls: PostgresConnection.Configuration.TLS
            switch tlsSettings() {
            case nil: tls = .disable
            case .some((let configuration, let required)):
                let context = try NIOSSLContext(configuration: configuration)
                tls = required ? .require(context) : .prefer(context)
            }
            var configuration = PostgresConnection.Configuration(
                host: host,
                port: port,
                username: username,
                password: password,
                database: database,
                tls: tls
            )
            configuration.options.connectTimeout = .seconds(connectTimeout.components.seconds)
            configuration.options.additionalStartupParameters = [("application_name", "streamswarm")]
            return configuration
        }
    }
}
