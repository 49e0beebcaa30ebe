import Foundation
import Logging
import PostgresNIO
import SwarmCore
import SwarmStore
import SwarmStorePostgres
import SwarmTestSupport
import Synchronization
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

    static let alpha = AgentName.fixture("alpha")

    static func connect(_ store: PostgresStore, _ agent: AgentName) async throws {
        try await store.recordSessionStart(
            SessionStart(
                agent: agent,
                sessionID: "s1",
                agentVersion: "test",
                host: HostFacts(hostname: "alpha.example", cpuCount: 2),
                at: .now()
            )
        )
    }

    static func measurement(_ test: TestID, sequence: UInt64, at nanos: Int64) -> MeasurementRecord {
        MeasurementRecord(
            testID: test,
            revision: 1,
            agent: alpha,
            sequence: sequence,
            kind: .system,
            startedAt: Timestamp(unixNanos: nanos),
            duration: .milliseconds(1),
            status: .ok,
            value: 1,
            payload: Data([1, 2, 3])
        )
    }

    @Test("months get partitions of their own; far-off times go to the default partition; reads span them")
    func partitions() async throws {
        try await withPostgresDatabase(adminURL: try PostgresTestEnvironment.requireURL()) { configuration, client in
            let store = PostgresStore(configuration: configuration, logger: Self.logger)
            try await Self.connect(store, Self.alpha)
            let test = try await store.createTest(
                TestSpec(name: "system", probes: [.system], schedule: .init(interval: .seconds(60))),
                agents: [Self.alpha]
            ).id
            let november = Timestamp(unixNanos: 1_763_000_000_000_000_000)  // 2025-11-13
            let december = Timestamp(unixNanos: 1_765_000_000_000_000_000)  // 2025-12-06
            let rows = [
                Self.measurement(test, sequence: 1, at: 0),  // 1970: the default partition
                Self.measurement(test, sequence: 2, at: november.unixNanos),
                Self.measurement(test, sequence: 3, at: december.unixNanos),
            ]
            let results = try await store.commitBatches([
                IncomingBatch(agent: Self.alpha, batchID: 1, measurements: rows)
            ])
            #expect(results.first?.storedCount == 3)
            let placed = try await client.query(
                "SELECT tableoid::regclass::text, seq FROM measurements ORDER BY seq"
            ).collect().map { try $0.decode((String, Int64).self) }
            #expect(placed.map(\.0) == ["measurements_default", "measurements_y2025m11", "measurements_y2025m12"])
            let read = try await store.measurements(test: test, agent: Self.alpha, range: .all, limit: 10)
            #expect(read.map(\.sequence) == [1, 2, 3])
        }
    }

    @Test("a LISTEN connection the server terminates comes back: a change made meanwhile still arrives, once")
    func listenReconnects() async throws {
        try await withPostgresDatabase(adminURL: try PostgresTestEnvironment.requireURL()) { configuration, client in
            var tuned = configuration
            tuned.listenRetryInterval = .milliseconds(100)
            let listener = PostgresStore(configuration: tuned, logger: Self.logger)
            let writer = PostgresStore(configuration: tuned, logger: Self.logger)
            try await withRunningPostgresStores { start in
                start(listener)
                let heard = Mutex<[StoreChange]>([])
                let subscription = listener.changes.subscribe()
                let collector = Task {
                    for await change in subscription { heard.withLock { $0.append(change) } }
                }
                defer { collector.cancel() }
                try await Self.connect(writer, Self.alpha)
                let online = await eventually { heard.withLock { $0.contains(.agentChanged(Self.alpha)) } }
                #expect(online)
                // When: the server ends every session of the listener's database but this one.
                let terminated = try await client.query(
                    """
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()
                    """
                ).collect().count
                #expect(terminated >= 1)
                let test = try await writer.createTest(
                    TestSpec(name: "after", probes: [.system], schedule: .init(interval: .seconds(60))),
                    agents: [Self.alpha]
                )
                // Then: the change reaches the listener's feed (heard live, or read from the log on
                // reconnect), exactly once, and the listener's own operations work again.
                let arrived = await eventually(timeout: .seconds(10)) {
                    heard.withLock {
                        $0.filter { $0 == .assignmentsChanged(test: test.id, agents: [Self.alpha]) }.count == 1
                    }
                }
                #expect(arrived, "the change made while LISTEN was down never arrived")
                try await Task.sleep(for: .milliseconds(300))
                #expect(
                    heard.withLock {
                        $0.filter { $0 == .assignmentsChanged(test: test.id, agents: [Self.alpha]) }.count
                    } == 1
                )
                #expect(try await listener.test(test.id)?.spec.name == "after")
            }
        }
    }
}

extension PostgresStoreTests {
    @Test("TLS to PostgreSQL: verify-full with the right CA works; with other roots it fails saying so; require works")
    func tls() async throws {
        let caPath = try PostgresTestEnvironment.requireCAPath()
        try await withPostgresDatabase(adminURL: try PostgresTestEnvironment.requireURL()) { configuration, client in
            var verified = configuration
            verified.tls = .verifyFull
            verified.rootCertificatePath = caPath
            let store = PostgresStore(configuration: verified, logger: Self.logger)
            try await withRunningPostgresStores { start in
                start(store)
                try await store.setSetting("over", value: "tls")
                // The server sees the pool's and the listener's sessions, all encrypted.
                let sessions = try await client.query(
                    """
                    SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                    WHERE a.application_name = 'streamswarm' AND a.datname = current_database()
                    """
                ).collect().map { try $0.decode(Bool.self) }
                #expect(!sessions.isEmpty && !sessions.contains(false), "sessions encrypted: \(sessions)")
            }

            // The system roots do not know the test CA: refused, and the error says what to check.
            var unverified = configuration
            unverified.tls = .verifyFull
            unverified.connectTimeout = .seconds(5)
            do {
                _ = try await PostgresStore(configuration: unverified, logger: Self.logger).setting("over")
                Issue.record("verify-full trusted a certificate no system root signed")
            } catch let error as StoreError {
                #expect(error.code == .unavailable, "\(error)")
                #expect(
                    error.message.lowercased().contains("certificate") || error.message.contains("TLS"),
                    "\(error.message)"
                )
            }

            var required = configuration
            required.tls = .require
            #expect(try await PostgresStore(configuration: required, logger: Self.logger).setting("over") == "tls")
        }
    }
}

@Suite struct PostgresConfigurationTests {
    @Test("a URL parses to its parts, says which part is wrong, and never repeats the password")
    func urls() throws {
        let parsed = try PostgresStore.Configuration(
            url: "postgres://swarm:s%40cret@db.example:6432/prod?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        )
        #expect(parsed.host == "db.example" && parsed.port == 6432 && parsed.username == "swarm")
        #expect(parsed.password == "s@cret" && parsed.database == "prod" && parsed.tls == .verifyFull)
        #expect(parsed.rootCertificatePath == "/etc/ca.pem")
        #expect(!parsed.description.contains("s@cret") && parsed.description.contains("***"))
        // The full URL (for a child process) parses back to the same configuration.
        let again = try PostgresStore.Configuration(url: parsed.url)
        #expect(again.password == "s@cret" && again.database == "prod" && again.tls == .verifyFull)
        #expect(again.rootCertificatePath == "/etc/ca.pem" && again.port == 6432)
        // libpq defaults: port 5432, the database named after the user.
        let short = try PostgresStore.Configuration(url: "postgresql://swarm@[::1]")
        #expect(short.host == "::1" && short.port == 5432 && short.database == "swarm")
        for (url, says) in [
            ("mysql://a@b/c", "must start with postgres://"),
            ("postgres:///c", "names no host"),
            ("postgres://b:5432/c", "names no user"),
            ("postgres://a@b/c?sslmode=maybe", "not one of"),
            ("postgres://a@b/c?application_name=x", "which is not sslmode"),
            ("postgres://a:pw@b/c/d", "more than one segment"),
        ] {
            do {
                _ = try PostgresStore.Configuration(url: url)
                Issue.record("\(url) was accepted")
            } catch {
                #expect(error.code == .invalidInput)
                #expect(error.message.contains(says), "\(url): \(error.message)")
                #expect(!error.message.contains("pw"), "the message repeats the URL")
            }
        }
    }
}
