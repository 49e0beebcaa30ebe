// why: the helpers take a Logger.
public import Logging
import PostgresNIO
import SwarmStore

// Scratch databases: a fresh database per benchmark phase or test, dropped afterwards.
extension PostgresStore {
    /// Makes a fresh, empty database on the server `adminURL` names (its user needs CREATEDB) for a
    /// benchmark or a test, and returns its configuration; ``dropScratchDatabase(_:adminURL:logger:)`` removes it.
    public static func createScratchDatabase(
        adminURL: String,
        name: String,
        logger: Logger
    ) async throws
        -> Configuration
    {
        var configuration = try Configuration(url: adminURL)
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), name.first?.isLetter == true else {
            throw StoreError(
                code: .invalidInput,
                message: "scratch database name \(name) must be letters, digits and _"
            )
        }
        try await adminCommand("CREATE DATABASE \(name)", adminURL: adminURL, logger: logger)
        configuration.database = name
        return configuration
    }

    /// Drops a database ``createScratchDatabase(adminURL:name:logger:)`` made, ending its sessions.
    public static func dropScratchDatabase(_ name: String, adminURL: String, logger: Logger) async throws {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return }
        try await adminCommand("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", adminURL: adminURL, logger: logger)
    }

    /// Runs one DDL statement (which takes no binds; the caller checked the name) on `adminURL`.
    private static func adminCommand(_ sql: String, adminURL: String, logger: Logger) async throws {
        do {
            try await withConnection(to: try Configuration(url: adminURL), logger: logger) { connection in
                _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
        } catch {
            throw storeError(error, action: sql)
        }
    }
}
