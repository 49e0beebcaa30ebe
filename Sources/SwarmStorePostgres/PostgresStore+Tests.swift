import Logging
import PostgresNIO
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// TestStore: tests, their revisions and which agents run them. Every change to a test logs
// `assignmentsChanged` for the agents whose assignments may differ now.
extension PostgresStore {
    public func createTest(_ spec: TestSpec, agents: [AgentName]) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        guard !agents.isEmpty else {
            throw StoreError(code: .invalidInput, message: "a test needs at least one agent (e.g. --agent local)")
        }
        let specJSON = try StoredJSON.encode(spec)
        let now = Timestamp.now().unixNanos
        let names = Array(Set(agents)).sorted()
        let logger = self.logger
        let id = try await transactionAndPublish("creating a test") { connection, changes -> Int64 in
            let id = try await Self.insertTest(connection, name: spec.name, at: now, specJSON: specJSON, logger)
            for name in names {
                let agentID = try await Self.ensureAgent(connection, name: name, logger: logger)
                try await connection.run(
                    "INSERT INTO test_assignments (test_id, agent_id) VALUES (\(id), \(agentID))",
                    logger
                )
            }
            changes.append(.assignmentsChanged(test: TestID(id), agents: names))
            return id
        }
        return try await requireTest(TestID(id))
    }

    public func createChildTest(_ spec: TestSpec, parent: TestID, occurrence: Int) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        let specJSON = try StoredJSON.encode(spec)
        let now = Timestamp.now().unixNanos
        let logger = self.logger
        let id = try await transactionAndPublish("creating a test occurrence") { connection, changes -> Int64 in
            let assigned = try await connection.rows(
                "SELECT 1 FROM test_assignments WHERE test_id = \(parent.rawValue) LIMIT 1",
                logger
            )
            guard !assigned.isEmpty else {
                throw StoreError(code: .notFound, message: "parent test \(parent) does not exist or has no agents")
            }
            let id: Int64
            do {
                let rows = try await connection.rows(
                    """
                    INSERT INTO tests (name, state, revision, created_at, updated_at, parent_id, occurrence)
                    VALUES (\(spec.name), 'active', 1, \(now), \(now), \(parent.rawValue), \(occurrence)) RETURNING id
                    """,
                    logger
                )
                guard let inserted = try rows.first?.decode(Int64.self) else {
                    throw StoreError(code: .corrupt, message: "creating a test returned no id")
                }
                id = inserted
            } catch  where Self.isUniqueViolation(error) {
                throw StoreError(code: .conflict, message: "occurrence \(occurrence) of test \(parent) exists already")
            }
            try await connection.run(
                """
                INSERT INTO test_revisions (test_id, revision, spec_json, created_at) VALUES (\(id), 1, \(specJSON), \(now))
                """,
                logger
            )
            try await connection.run(
                """
                INSERT INTO test_assignments (test_id, agent_id)
                SELECT \(id), agent_id FROM test_assignments WHERE test_id = \(parent.rawValue)
                """,
                logger
            )
            changes.append(
                .assignmentsChanged(
                    test: TestID(id),
                    agents: try await Self.assignedAgents(connection, test: id, logger)
                )
            )
            return id
        }
        return try await requireTest(TestID(id))
    }

    public func reviseTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        let specJSON = try StoredJSON.encode(spec)
        let now = Timestamp.now().unixNanos
        let logger = self.logger
        try await transactionAndPublish("revising a test") { connection, changes in
            let rows = try await connection.rows("SELECT state FROM tests WHERE id = \(id.rawValue) FOR UPDATE", logger)
            guard let state = try rows.first?.decode(String.self) else { throw Self.noSuchTest(id) }
            guard state == TestState.active.rawValue else {
                throw StoreError(code: .conflict, message: "test \(id) is cancelled; create a new test instead")
            }
            try await connection.run(
                "UPDATE tests SET revision = revision + 1, name = \(spec.name), updated_at = \(now) WHERE id = \(id.rawValue)",
                logger
            )
            try await Self.insertCurrentRevision(connection, test: id, specJSON: specJSON, at: now, logger)
            changes.append(
                .assignmentsChanged(
                    test: id,
                    agents: try await Self.assignedAgents(connection, test: id.rawValue, logger)
                )
            )
        }
        return try await requireTest(id)
    }

    public func cancelTest(_ id: TestID) async throws -> TestRecord {
        let now = Timestamp.now().unixNanos
        let logger = self.logger
        try await transactionAndPublish("cancelling a test") { connection, changes in
            guard try await !connection.rows("SELECT 1 FROM tests WHERE id = \(id.rawValue)", logger).isEmpty else {
                throw Self.noSuchTest(id)
            }
            let updated = try await connection.run(
                """
                UPDATE tests SET state = 'cancelled', updated_at = \(now) WHERE id = \(id.rawValue) AND state = 'active'
                RETURNING 1
                """,
                logger
            )
            guard updated > 0 else { return }  // cancelled already: nothing changed
            changes.append(
                .assignmentsChanged(
                    test: id,
                    agents: try await Self.assignedAgents(connection, test: id.rawValue, logger)
                )
            )
        }
        return try await requireTest(id)
    }

    public func reassignTest(_ id: TestID, agents: [AgentName]) async throws -> TestRecord {
        guard !agents.isEmpty else { throw StoreError(code: .invalidInput, message: "a test needs at least one agent") }
        let names = Array(Set(agents)).sorted()
        let logger = self.logger
        try await transactionAndPublish("reassigning a test") { connection, changes in
            guard try await !connection.rows("SELECT 1 FROM tests WHERE id = \(id.rawValue) FOR UPDATE", logger).isEmpty
            else { throw Self.noSuchTest(id) }
            let before = try await Self.assignedAgents(connection, test: id.rawValue, logger)
            try await connection.run("DELETE FROM test_assignments WHERE test_id = \(id.rawValue)", logger)
            for name in names {
                let agentID = try await Self.ensureAgent(connection, name: name, logger: logger)
                try await connection.run(
                    "INSERT INTO test_assignments (test_id, agent_id) VALUES (\(id.rawValue), \(agentID))",
                    logger
                )
            }
            try await connection.run(
                "UPDATE tests SET updated_at = \(Timestamp.now().unixNanos) WHERE id = \(id.rawValue)",
                logger
            )
            // Both the old and the new agents reconcile: the old ones stop, the new ones start.
            changes.append(.assignmentsChanged(test: id, agents: Array(Set(before + names)).sorted()))
        }
        return try await requireTest(id)
    }

    public func restartTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        let specJSON = try StoredJSON.encode(spec)
        let now = Timestamp.now().unixNanos
        let logger = self.logger
        try await transactionAndPublish("restarting a test") { connection, changes in
            let updated = try await connection.run(
                """
                UPDATE tests SET state = 'active', revision = revision + 1, name = \(spec.name), updated_at = \(now)
                WHERE id = \(id.rawValue) RETURNING 1
                """,
                logger
            )
            guard updated > 0 else { throw Self.noSuchTest(id) }
            try await Self.insertCurrentRevision(connection, test: id, specJSON: specJSON, at: now, logger)
            changes.append(
                .assignmentsChanged(
                    test: id,
                    agents: try await Self.assignedAgents(connection, test: id.rawValue, logger)
                )
            )
        }
        return try await requireTest(id)
    }

    public func deleteTests(_ ids: [TestID]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let logger = self.logger
        return try await transactionAndPublish("deleting tests") { connection, changes -> Int in
            var deleted = 0
            for id in Set(ids).sorted() {
                // Read before the delete: the assignments go with the test.
                let agents = try await Self.assignedAgents(connection, test: id.rawValue, logger)
                guard try await connection.run("DELETE FROM tests WHERE id = \(id.rawValue) RETURNING 1", logger) > 0
                else { continue }
                deleted += 1
                changes.append(.assignmentsChanged(test: id, agents: agents))
            }
            return deleted
        }
    }

    public func tests() async throws -> [TestRecord] {
        let logger = self.logger
        return try await read("reading tests") { connection in
            let ids = try await connection.rows("SELECT id FROM tests ORDER BY id", logger).map {
                try $0.decode(Int64.self)
            }
            return try await Self.testRecords(connection, ids: ids, logger)
        }
    }

    public func tests(matching query: TestQuery) async throws -> TestPage {
        let text = query.text.lowercased()
        let state = query.state?.rawValue
        let parent = query.parent?.rawValue
        let mode = query.recurrence?.rawValue
        let limit = max(1, min(query.limit, 500))
        let offset = max(0, query.offset)
        let logger = self.logger
        return try await read("searching tests") { connection in
            // One fixed statement; absent filters are NULL binds, never spliced SQL.
            let rows = try await connection.rows(
                """
                SELECT t.id, COUNT(*) OVER () FROM tests t
                JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision
                WHERE (\(text) = '' OR strpos(lower(t.name), \(text)) > 0
                       OR strpos(lower(COALESCE(r.spec_json::jsonb #>> '{target,host}', '')), \(text)) > 0
                       OR strpos(lower(COALESCE(r.spec_json::jsonb #>> '{target,url}', '')), \(text)) > 0)
                  AND (\(state)::text IS NULL OR t.state = \(state))
                  AND (\(parent)::bigint IS NULL OR t.parent_id = \(parent))
                  AND (\(mode)::text IS NULL OR r.spec_json::jsonb #>> '{recurrence,mode}' = \(mode))
                ORDER BY t.id DESC LIMIT \(limit) OFFSET \(offset)
                """,
                logger
            )
            let page = try rows.map { try $0.decode((Int64, Int).self) }
            var total = page.first?.1 ?? 0
            if page.isEmpty, offset > 0 {
                // Past the end the window has no row to carry the total: count apart.
                total =
                    try await connection.rows(
                        """
                        SELECT COUNT(*) FROM tests t JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision
                        WHERE (\(text) = '' OR strpos(lower(t.name), \(text)) > 0
                               OR strpos(lower(COALESCE(r.spec_json::jsonb #>> '{target,host}', '')), \(text)) > 0
                               OR strpos(lower(COALESCE(r.spec_json::jsonb #>> '{target,url}', '')), \(text)) > 0)
                          AND (\(state)::text IS NULL OR t.state = \(state))
                          AND (\(parent)::bigint IS NULL OR t.parent_id = \(parent))
                          AND (\(mode)::text IS NULL OR r.spec_json::jsonb #>> '{recurrence,mode}' = \(mode))
                        """,
                        logger
                    ).first?.decode(Int.self) ?? 0
            }
            return TestPage(tests: try await Self.testRecords(connection, ids: page.map(\.0), logger), total: total)
        }
    }

    public func test(_ id: TestID) async throws -> TestRecord? {
        let logger = self.logger
        return try await read("reading a test") { connection in
            try await Self.testRecords(connection, ids: [id.rawValue], logger).first
        }
    }

    public func activeAssignments(for agent: AgentName) async throws -> [TestAssignment] {
        let logger = self.logger
        return try await read("reading assignments") { connection in
            try await connection.rows(
                """
                SELECT t.id, t.revision, r.spec_json FROM tests t
                JOIN test_assignments a ON a.test_id = t.id
                JOIN agents g ON g.id = a.agent_id
                JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision
                WHERE g.name = \(agent.rawValue) AND t.state = 'active'
                ORDER BY t.id
                """,
                logger
            ).map { row in
                let (id, revision, specJSON) = try row.decode((Int64, Int, String).self)
                return TestAssignment(
                    testID: TestID(id),
                    revision: revision,
                    spec: try StoredJSON.decode(TestSpec.self, from: specJSON)
                )
            }
        }
    }

    public func activeTestIDsByAgent() async throws -> [AgentName: [TestID]] {
        let logger = self.logger
        return try await read("reading assignments") { connection in
            var map: [AgentName: [TestID]] = [:]
            for row in try await connection.rows(
                """
                SELECT g.name, a.test_id FROM test_assignments a
                JOIN agents g ON g.id = a.agent_id JOIN tests t ON t.id = a.test_id
                WHERE t.state = 'active' ORDER BY g.name, a.test_id
                """,
                logger
            ) {
                let (name, test) = try row.decode((String, Int64).self)
                guard let name = AgentName(name) else { continue }
                map[name, default: []].append(TestID(test))
            }
            return map
        }
    }

    func requireTest(_ id: TestID) async throws -> TestRecord {
        guard let record = try await test(id) else { throw Self.noSuchTest(id) }
        return record
    }

    static func noSuchTest(_ id: TestID) -> StoreError {
        StoreError(code: .notFound, message: "test \(id) does not exist (see 'streamswarm tests list')")
    }

    static func insertTest(
        _ connection: PostgresConnection,
        name: String,
        at now: Int64,
        specJSON: String,
        _ logger: Logger
    ) async throws -> Int64 {
        let rows = try await connection.rows(
            """
            INSERT INTO tests (name, state, revision, created_at, updated_at) VALUES (\(name), 'active', 1, \(now), \(now))
            RETURNING id
            """,
            logger
        )
        guard let id = try rows.first?.decode(Int64.self) else {
            throw StoreError(code: .corrupt, message: "creating a test returned no id")
        }
        try await connection.run(
            "INSERT INTO test_revisions (test_id, revision, spec_json, created_at) VALUES (\(id), 1, \(specJSON), \(now))",
            logger
        )
        return id
    }

    /// Stores `specJSON` as the test's current revision (the caller bumped `tests.revision`).
    private static func insertCurrentRevision(
        _ connection: PostgresConnection,
        test id: TestID,
        specJSON: String,
        at: Int64,
        _ logger: Logger
    ) async throws {
        try await connection.run(
            """
            INSERT INTO test_revisions (test_id, revision, spec_json, created_at)
            SELECT id, revision, \(specJSON), \(at) FROM tests WHERE id = \(id.rawValue)
            """,
            logger
        )
    }

    /// The agents a test is assigned to now, by name.
    static func assignedAgents(
        _ connection: PostgresConnection,
        test id: Int64,
        _ logger: Logger
    ) async throws
        -> [AgentName]
    {
        try await connection.rows(
            """
            SELECT g.name FROM test_assignments a JOIN agents g ON g.id = a.agent_id
            WHERE a.test_id = \(id) ORDER BY g.name
            """,
            logger
        ).compactMap { AgentName(try $0.decode(String.self)) }
    }

    /// The records of `ids`, in that order (unknown ids are left out), in two reads.
    static func testRecords(
        _ connection: PostgresConnection,
        ids: [Int64],
        _ logger: Logger
    ) async throws
        -> [TestRecord]
    {
        guard !ids.isEmpty else { return [] }
        var agents: [Int64: [AgentName]] = [:]
        for row in try await connection.rows(
            """
            SELECT a.test_id, g.name FROM test_assignments a JOIN agents g ON g.id = a.agent_id
            WHERE a.test_id = ANY(\(ids)) ORDER BY g.name
            """,
            logger
        ) {
            let (test, name) = try row.decode((Int64, String).self)
            if let name = AgentName(name) { agents[test, default: []].append(name) }
        }
        var records: [Int64: TestRecord] = [:]
        for row in try await connection.rows(
            """
            SELECT t.id, t.revision, r.spec_json, t.state, t.created_at, t.updated_at, t.parent_id, t.occurrence
            FROM tests t JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision
            WHERE t.id = ANY(\(ids))
            """,
            logger
        ) {
            let (id, revision, specJSON, state, created, updated, parent, occurrence) = try row.decode(
                (Int64, Int, String, String, Int64, Int64, Int64?, Int).self
            )
            guard let state = TestState(rawValue: state) else {
                throw StoreError(code: .corrupt, message: "test \(id) has an unknown state")
            }
            records[id] = TestRecord(
                id: TestID(id),
                revision: revision,
                spec: try StoredJSON.decode(TestSpec.self, from: specJSON),
                state: state,
                agents: agents[id] ?? [],
                createdAt: Timestamp(unixNanos: created),
                updatedAt: Timestamp(unixNanos: updated),
                parentID: parent.map(TestID.init),
                occurrence: occurrence
            )
        }
        return ids.compactMap { records[$0] }
    }
}
