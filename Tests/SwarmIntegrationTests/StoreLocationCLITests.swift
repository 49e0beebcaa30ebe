import Foundation
import Glibc
import Logging
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// The built `streamswarm` binary with `--db` URLs, and its writes reaching a store in this process.
@Suite(.timeLimit(.minutes(1))) struct StoreLocationCLITests {
    func streamswarm(_ arguments: [String], in dir: String) throws -> (Int32, String) {
        try ProductBinary.run(arguments, in: dir)
    }

    @Test("--db takes sqlite:PATH, sqlite:///ABSOLUTE/PATH and a bare path for the same file")
    func sqliteForms() async throws {
        try await withTemporaryDirectory { dir in
            let (created, output) = try streamswarm(
                [
                    "tests", "create", "--db", "sqlite:\(dir)/s.sqlite", "--name", "t", "--kind", "system", "--agent",
                    "a1",
                ],
                in: dir
            )
            #expect(created == 0, "\(output)")
            for form in ["sqlite://\(dir)/s.sqlite", "\(dir)/s.sqlite"] {
                let (status, listed) = try streamswarm(["tests", "list", "--db", form, "--json"], in: dir)
                #expect(status == 0 && listed.contains("\"name\" : \"t\""), "\(form): \(listed)")
            }
        }
    }

    @Test("a postgres:// URL with no server behind it says so and what to check, without its password")
    func postgresUnreachable() async throws {
        try await withTemporaryDirectory { dir in
            // A loopback port with nothing listening: refused at once.
            let port = try await freeLoopbackPort()
            let (status, output) = try streamswarm(
                ["tests", "list", "--db", "postgres://swarm:hunter2@127.0.0.1:\(port)/streamswarm?connect_timeout=2"],
                in: dir
            )
            #expect(status != 0)
            #expect(output.contains("check that the server is up"), "\(output)")
            #expect(output.contains("postgres://swarm:***@127.0.0.1") || !output.contains("postgres://"), "\(output)")
            #expect(!output.contains("hunter2"), "\(output)")
        }
    }

    @Test("an unknown --db scheme is refused before anything runs, naming the accepted forms")
    func unknownScheme() async throws {
        try await withTemporaryDirectory { dir in
            let (status, output) = try streamswarm(["agents", "list", "--db", "mysql://root@h/db"], in: dir)
            #expect(status != 0)
            #expect(output.contains("store location scheme 'mysql:' is not supported"), "\(output)")
            #expect(output.contains("sqlite:PATH"), "\(output)")
        }
    }

    @Test("a test the CLI process creates reaches a running store's feed through the change log")
    func crossProcessChange() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = SQLiteStore.Configuration(path: "\(dir)/s.sqlite")
            configuration.changePollInterval = .milliseconds(50)
            let store = try SQLiteStore(configuration: configuration, logger: Logger(label: "test.store"))
            let changes = store.changes.subscribe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                let (status, output) = try streamswarm(
                    [
                        "tests", "create", "--db", "sqlite:\(dir)/s.sqlite", "--name", "t", "--kind", "system",
                        "--agent", "a1",
                    ],
                    in: dir
                )
                #expect(status == 0, "\(output)")
                var iterator = changes.makeAsyncIterator()
                let change = await iterator.next()
                let test = try #require(try await store.tests().first)
                #expect(change == .assignmentsChanged(test: test.id, agents: [AgentName.fixture("a1")]))
            }
        }
    }
}
