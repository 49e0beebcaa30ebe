import Foundation
import Logging
import PostgresNIO
import SwarmCore
import SwarmStore
import SwarmStorePostgres
import SwarmTestSupport
import Testing

/// What only the PostgreSQL backend has: migrations under concurrency, partitions, and a LISTEN
/// connection that comes back without losing a change.
@Suite(.timeLimit(.minutes(1))) struct PostgresStoreTests {
    static let logger = Logger(label: "test.postgres")

    @Test("a handle works without run(): it migrates on first use and reads back what it wrote")
    func withoutRun() async throws {
        try await withPostgresDatabase(adminURL: try PostgresTestEnvironment.requireURL()) { configuration, _ in
            let store = PostgresStore(configuration: configuration, logger: Self.logger)
            try await store.setSetting("k", value: "v")
            #expect(try await store.setting("k") == "v")
        }
    }

    @Test("two handles opening one fresh database at once apply each migration once; reopening applies none")
    func concurrentMigrations() async throws {
        try await withPostgresDatabase(adminURL: try PostgresTestEnvironment.requireURL()) { configuration, client in
            // When: two handles (two servers) use the fresh database at the same moment.
            async let first: Void = PostgresStore(configuration: configuration, logger: Self.logger)
                .setSetting("a", value: "1")
            async let second: Void = PostgresStore(configuration: configuration, logger: Self.logger)
                .setSetting("b", value: "2")
            _ = try await (first, second)
            // Then: every migration is recorded once, and a third handle finds nothing to do.
            let third = PostgresStore(configuration: configuration, logger: Self.logger)
            #expect(try await third.setting("a") == "1")
            #expect(try await third.setting("b") == "2")
            let rows = try await client.query("SELECT name, COUNT(*) FROM schema_migrations GROUP BY name").collect()
            let counts = try rows.map { try $0.decode((String, Int).self) }
            #expect(counts.count == PostgresStore.migrationNames.count)
            #expect(counts.filter { $0.1 != 1 }.isEmpty)
        }
    }
}
