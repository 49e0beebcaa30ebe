import Logging
import SwarmStore
// why: the helper runs SwarmStorePostgres stores.
public import SwarmStorePostgres

extension StoreConformance.Backend {
    /// A fresh PostgreSQL database per contract on the server `url` names (its user needs
    /// CREATEDB), dropped afterwards. Every handle opened runs (pool and LISTEN loop) for the
    /// contract's duration, as a server's would; it retries a lost LISTEN after 200 ms.
    public static func postgres(url: String) -> Self {
        Self(name: "postgres") { body in
            try await withPostgresDatabase(adminURL: url) { database, _ in
                var tuned = database
                tuned.maximumConnections = 4
                tuned.listenRetryInterval = .milliseconds(200)
                let configuration = tuned
                try await withRunningPostgresStores { start in
                    try await body {
                        let store = PostgresStore(
                            configuration: configuration,
                            logger: Logger(label: "conformance.postgres")
                        )
                        start(store)
                        return store
                    }
                }
            }
        }
    }
}

/// Runs every store `body` hands to `start` until `body` returns, then stops them all.
public func withRunningPostgresStores<T: Sendable>(
    _ body: (_ start: @escaping @Sendable (PostgresStore) -> Void) async throws -> T
) async throws -> T {
    let (stores, continuation) = AsyncStream.makeStream(of: PostgresStore.self)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            await withDiscardingTaskGroup { running in
                for await store in stores {
                    // try?: a store stopped by the cancellation below has nothing to report.
                    running.addTask { try? await store.run() }
                }
            }
        }
        defer {
            continuation.finish()
            group.cancelAll()
        }
        return try await body { continuation.yield($0) }
    }
}
