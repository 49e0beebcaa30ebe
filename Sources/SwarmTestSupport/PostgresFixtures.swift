import Foundation
import Logging
// why: fixtures hand tests a running PostgresClient on their fresh database.
public import PostgresNIO
// why: fixtures take and hand out PostgresStore configurations.
public import SwarmStorePostgres

/// Where the test PostgreSQL is: `SWARM_TEST_POSTGRES_URL`, set by `scripts/test.sh` (which
/// starts a throwaway cluster with `scripts/postgres-test-cluster.sh`).
public enum PostgresTestEnvironment {
    public static var url: String? {
        ProcessInfo.processInfo.environment["SWARM_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The CA of the test server's TLS certificate (for 127.0.0.1): `SWARM_TEST_POSTGRES_CA`.
    public static func requireCAPath() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["SWARM_TEST_POSTGRES_CA"], !path.isEmpty else {
            throw FixtureError(
                "SWARM_TEST_POSTGRES_CA is not set: run scripts/test.sh, or export what "
                    + "'scripts/postgres-test-cluster.sh env DIR' prints"
            )
        }
        return path
    }

    /// The URL, or a failure saying how to get one: a missing database is a failure, not a skip.
    public static func requireURL() throws -> String {
        guard let url else {
            throw FixtureError(
                "SWARM_TEST_POSTGRES_URL is not set: run scripts/test.sh, or start a cluster with "
                    + "'scripts/postgres-test-cluster.sh start' and export the URL it prints"
            )
        }
        return url
    }
}

/// A fixture could not be set up; the message says what to do.
public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a `PostgresClient` for `configuration` for the duration of `body`.
public func withPostgresClient<T: Sendable>(
    _ configuration: PostgresStore.Configuration,
    _ body: (PostgresClient) async throws -> T
) async throws -> T {
    var client = PostgresClient.Configuration(
        host: configuration.host,
        port: configuration.port,
        username: configuration.username,
        password: configuration.password,
        database: configuration.database,
        tls: .disable
    )
    client.options.maximumConnections = 2
    let postgres = PostgresClient(configuration: client)
    // Unstructured: cancelling the caller must not stop the client under `body`'s queries, which
    // a stopped PostgresClient never answers.
    let running = Task { await postgres.run() }
    let result: Result<T, any Error>
    do {
        result = .success(try await body(postgres))
    } catch {
        result = .failure(error)
    }
    running.cancel()
    await running.value
    return try result.get()
}

/// Makes a fresh, empty database on the server `adminURL` names (its user needs CREATEDB), runs
/// `body` with its configuration and a client connected to it, and drops the database afterwards
/// in every path. Databases, not schemas: NOTIFY is per database, so parallel tests never hear
/// each other's changes.
public func withPostgresDatabase<T: Sendable>(
    adminURL: String,
    _ body: (PostgresStore.Configuration, PostgresClient) async throws -> T
) async throws -> T {
    let logger = Logger(label: "test.postgres.fixture")
    let name = "conformance_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    let configuration = try await PostgresStore.createScratchDatabase(adminURL: adminURL, name: name, logger: logger)
    let result: Result<T, any Error>
    do {
        result = .success(
            try await withPostgresClient(configuration) { client in try await body(configuration, client) }
        )
    } catch {
        result = .failure(error)
    }
    try await PostgresStore.dropScratchDatabase(name, adminURL: adminURL, logger: logger)
    return try result.get()
}
