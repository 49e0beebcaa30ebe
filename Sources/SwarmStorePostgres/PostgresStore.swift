import Foundation
// why: the store conforms to SwarmStore's StoreBackend in public, and its init takes a Logger.
public import Logging
import PostgresNIO
import ServiceLifecycle
import SwarmCore
public import SwarmStore
import Synchronization

/// The shared ``StoreBackend``: one PostgreSQL database through PostgresNIO, for several servers
/// and gateways at once.
///
/// Invariants live in the schema as on SQLite: foreign keys, `NOT NULL`, the (agent, batch id)
/// primary key that makes ingest idempotent, and the (test, agent, time) primary key of the
/// measurements, which are partitioned by month of their start time (`+Partitions`). Every mutation
/// that publishes a ``StoreChange`` logs it in the `changes` table in its own transaction; a trigger
/// on that table sends it with `pg_notify`, and ``run()`` LISTENs for other handles' changes
/// (`+Changes`).
///
/// ``run()`` runs the connection pool (a `PostgresClient`) and the LISTEN loop. A handle also works
/// while `run()` is not going (a CLI command that reads one list): each operation then opens a
/// connection of its own for its duration, which costs a connection set-up each time.
///
/// The implementation is split by protocol: `+Agents`, `+Tests`, `+Measurements`, `+Accounts`,
/// `+Events`, `+Settings`, `+Devices`, `+Changes`, `+Partitions`, `+Schema` for the migrations and
/// `+Configuration` for the connection URL.
public final class PostgresStore: StoreBackend {
    public let changes: any ChangeFeed
    let feed: InProcessChangeFeed
    let configuration: Configuration
    let logger: Logger
    /// Identifies this handle's rows in the change log: the listener skips them, since they were
    /// published in-process when they committed.
    let origin = UUID().uuidString
    /// The pool ``run()`` runs, while it runs, and how many operations are on it.
    let pool = Mutex(Pool())
    /// Whether this handle migrated the database (and set its change cursor) already.
    let prepared = Mutex(false)
    /// Which change-log rows of other handles this handle has published (see `+Changes`).
    let changeCursor = Mutex(ChangeCursor())
    /// Months whose partition exists (or whose rows stay in the default partition).
    let knownPartitions = Mutex(Set<Int>())

    /// Makes a handle on the database `configuration` names. Nothing connects yet: the first
    /// operation (or ``run()``) connects and applies pending migrations.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        feed = InProcessChangeFeed()
        changes = feed
    }

    deinit { feed.finish() }

    // MARK: - Connections

    func makeClient(maximumConnections: Int) -> PostgresClient {
        var client = configuration.makeClientConfiguration()
        client.options.maximumConnections = max(1, maximumConnections)
        return PostgresClient(configuration: client, backgroundLogger: logger)
    }

    /// The pool ``run()`` runs and the operations using it: a `PostgresClient` whose `run()` has
    /// ended never answers a query or lease it still holds (postgres-nio 1.33), so the pool stops
    /// only once its users are done, and a client's `run()` is never cancelled under its users.
    struct Pool {
        var client: PostgresClient?
        var users = 0
    }

    /// Runs `body` on a connection of the pool ``run()`` runs, or else (no `run()` going: a CLI
    /// command) on a connection of its own, opened for `body` and closed after it.
    func withConnection<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let shared = pool.withLock { pool -> PostgresClient? in
            guard let client = pool.client else { return nil }
            pool.users += 1
            return client
        }
        if let shared {
            defer { pool.withLock { $0.users -= 1 } }
            return try await shared.withConnection { try await body($0) }
        }
        return try await withOwnConnection(closingOnCancel: false, body)
    }

    /// Runs `body` on a connection of its own (not the pool's), closed afterwards. With
    /// `closingOnCancel` it is closed on cancellation too: that ends a LISTEN that is waiting, which
    /// task cancellation alone does not; `body` must then start no query after a close (a query on
    /// a closed PostgresConnection never completes in postgres-nio 1.33): the LISTEN loop only
    /// LISTENs on it.
    func withOwnConnection<T: Sendable>(
        closingOnCancel: Bool,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await Self.withConnection(to: configuration, logger: logger, closingOnCancel: closingOnCancel, body)
    }

    /// ``withOwnConnection(closingOnCancel:_:)`` for a configuration without a handle (the
    /// benchmark's COPY, scratch databases). The connection is closed, awaited, in every path:
    /// postgres-nio traps on a connection released unclosed.
    static func withConnection<T: Sendable>(
        to configuration: Configuration,
        logger: Logger,
        closingOnCancel: Bool = false,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await PostgresConnection.connect(
            configuration: try configuration.makeConnectionConfiguration(),
            id: closingOnCancel ? 0 : 1,
            logger: logger
        )
        let result: Result<T, any Error>
        do {
            if closingOnCancel {
                result = .success(
                    try await withTaskCancellationHandler {
                        try Task.checkCancellation()
                        return try await body(connection)
                    } onCancel: {
                        connection.close().whenComplete { _ in }
                    }
                )
            } else {
                result = .success(try await body(connection))
            }
        } catch {
            result = .failure(error)
        }
        // try?: closing a connection that is closed already says so, which changes nothing here.
        try? await connection.close()
        return try result.get()
    }

    /// Runs `body` in one transaction (after the migrations), mapping every failure to ``StoreError``.
    @discardableResult
    func transaction<T: Sendable>(
        _ action: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await prepare()
        return try await rawTransaction(action, body)
    }

    /// ``transaction(_:_:)`` without waiting for the migrations (the migrations use it).
    @discardableResult
    func rawTransaction<T: Sendable>(
        _ action: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        do {
            return try await withConnection { connection in
                try await connection.withTransaction(logger: logger) { try await body($0) }
            }
        } catch {
            throw Self.storeError(error, action: action)
        }
    }

    /// Runs `body` in one transaction and logs the changes it reports in that same transaction
    /// (whose commit sends them to other handles); once it committed, publishes them in-process.
    @discardableResult
    func transactionAndPublish<T: Sendable>(
        _ action: String,
        _ body: @escaping @Sendable (PostgresConnection, inout [StoreChange]) async throws -> T
    ) async throws -> T {
        let origin = self.origin
        let logger = self.logger
        let (value, changes) = try await transaction(action) { connection -> (T, [StoreChange]) in
            var changes: [StoreChange] = []
            let value = try await body(connection, &changes)
            try await Self.logChanges(changes, origin: origin, connection, logger: logger)
            return (value, changes)
        }
        for change in changes { feed.publish(change) }
        return value
    }

    /// Runs `body` on a pooled connection outside a transaction (one read statement or several
    /// that need no common snapshot).
    func read<T: Sendable>(
        _ action: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await prepare()
        do {
            return try await withConnection { try await body($0) }
        } catch {
            throw Self.storeError(error, action: action)
        }
    }

    // MARK: - Errors

    /// A driver error as a ``StoreError``: what the server said (its SQLSTATE and primary message,
    /// never the statement's data), and the code SQLite uses for the same situation.
    static func storeError(_ error: any Error, action: String) -> StoreError {
        switch error {
        case let error as StoreError:
            return error
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.commitError ?? error.beginError {
                return storeError(inner, action: action)
            }
            return StoreError(code: .unavailable, message: "PostgreSQL \(action) failed", cause: error)
        case let error as PSQLError:
            guard let state = error.serverInfo?[.sqlState] else {
                // A refused TLS handshake says so (NIOSSL's error names the certificate problem).
                if let underlying = error.underlying, String(reflecting: type(of: underlying)).contains("SSL") {
                    return StoreError(
                        code: .unavailable,
                        message: "PostgreSQL \(action) failed: the TLS handshake failed (\(underlying)): check "
                            + "sslmode, and that sslrootcert names the CA that signed the server's certificate",
                        cause: error
                    )
                }
                return StoreError(
                    code: .unavailable,
                    message: "PostgreSQL \(action) failed (\(error.code)): check that the server is up "
                        + "and the URL, user and password are right",
                    cause: error
                )
            }
            let said = error.serverInfo?[.message] ?? "no message"
            let code: StoreError.Code = state == uniqueViolation ? .conflict : .unavailable
            return StoreError(
                code: code,
                message: "PostgreSQL \(action) failed: \(said) (SQLSTATE \(state))",
                cause: error
            )
        case is CancellationError:
            return StoreError(code: .unavailable, message: "PostgreSQL \(action) was cancelled", cause: error)
        default:
            return StoreError(code: .unavailable, message: "PostgreSQL \(action) failed: \(error)", cause: error)
        }
    }

    static let uniqueViolation = "23505"

    /// Whether `error` is (or wraps) a unique violation: a name, an occurrence or a key is taken.
    static func isUniqueViolation(_ error: any Error) -> Bool {
        switch error {
        case let error as PSQLError: return error.serverInfo?[.sqlState] == uniqueViolation
        case let error as PostgresTransactionError: return error.closureError.map(isUniqueViolation) ?? false
        default: return false
        }
    }

    // MARK: - Helpers

    static func ensureAgent(_ connection: PostgresConnection, name: AgentName, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query(
            """
            INSERT INTO agents (name) VALUES (\(name.rawValue)) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
            RETURNING id
            """,
            logger: logger
        ).collect()
        guard let id = try rows.first?.decode(Int64.self) else {
            throw StoreError(code: .corrupt, message: "agent \(name) vanished while being assigned")
        }
        return id
    }
}

extension PostgresConnection {
    /// Runs `query` and reads every row.
    func rows(_ query: PostgresQuery, _ logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }

    /// Runs `query` for its effect; returns how many rows it returned (a `RETURNING 1` counts
    /// the rows a write touched).
    @discardableResult
    func run(_ query: PostgresQuery, _ logger: Logger) async throws -> Int {
        try await self.query(query, logger: logger).collect().count
    }
}
