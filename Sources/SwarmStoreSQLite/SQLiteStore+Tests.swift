import GRDB
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// TestStore: tests, their revisions and which agents run them. Every change to a test logs
// `assignmentsChanged` for the agents whose assignments may differ now.
extension SQLiteStore {
    public func createTest(_ spec: TestSpec, agents: [AgentName]) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        guard !agents.isEmpty else {
            throw StoreError(code: .invalidInput, message: "a test needs at least one agent (e.g. --agent local)")
        }
        let specJSON = try StoredJSON.encode(spec)
        let now = Timestamp.now()
        let names = Array(Set(agents)).sorted()
        let id = try await writeAndPublish { db, changes -> Int64 in
            try db.execute(
                sql: "INSERT INTO tests (name, state, revision, created_at, updated_at) VALUES (?, 'active', 1, ?, ?)",
                arguments: [spec.name, now.unixNanos, now.unixNanos]
            )
            let id = db.lastInsertedRowID
            try db.execute(
                sql: "INSERT INTO test_revisions (test_id, revision, spec_json, created_at) VALUES (?, 1, ?, ?)",
                arguments: [id, specJSON, now.unixNanos]
            )
            for name in names {
                let agentID = try Self.ensureAgent(db, name: name)
                try db.execute(
                    sql: "INSERT INTO test_assignments (test_id, agent_id) VALUES (?, ?)",
                    arguments: [id, agentID]
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
        let now = Timestamp.now()
        let id = try await writeAndPublish { db, changes -> Int64 in
            let agentIDs = try Int64.fetchAll(
                db,
                sql: "SELECT agent_id FROM test_assignments WHERE test_id = ?",
                arguments: [parent.rawValue]
            )
            guard !agentIDs.isEmpty else {
                throw StoreError(code: .notFound, message: "parent test \(parent) does not exist or has no agents")
            }
            do {
                try db.execute(
                    sql: """
                        INSERT INTO tests (name, state, revision, created_at, updated_at, parent_id, occurrence)
                        VALUES (?, 'active', 1, ?, ?, ?, ?)
                        """,
                    arguments: [spec.name, now.unixNanos, now.unixNanos, parent.rawValue, occurrence]
                )
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StoreError(code: .conflict, message: "occurrence \(occurrence) of test \(parent) exists already")
            }
            let id = db.lastInsertedRowID
            try db.execute(
                sql: "INSERT INTO test_revisions (test_id, revision, spec_json, created_at) VALUES (?, 1, ?, ?)",
                arguments: [id, specJSON, now.unixNanos]
            )
            try db.execute(
                sql:
                    "INSERT INTO test_assignments (test_id, agent_id) SELECT ?, agent_id FROM test_assignments WHERE test_id = ?",
                arguments: [id, parent.rawValue]
            )
            changes.append(.assignmentsChanged(test: TestID(id), agents: try Self.assignedAgents(db, test: id)))
            return id
        }
        return try await requireTest(TestID(id))
    }

    public func reviseTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        let specJSON = try StoredJSON.encode(spec)
        let now = Timestamp.now()
        try await writeAndPublish { db, changes in
            guard
                let state = try String.fetchOne(
                    db,
                    sql: "SELECT state FROM tests WHERE id = ?",
                    arguments: [id.rawValue]
                )
            else { throw Self.noSuchTest(id) }
            guard state == TestState.active.rawValue else {
                throw StoreError(code: .conflict, message: "test \(id) is cancelled; create a new test instead")
            }
            try db.execute(
                sql: "UPDATE tests SET revision = revision + 1, name = ?, updated_at = ? WHERE id = ?",
                arguments: [spec.name, now.unixNanos, id.rawValue]
            )
            try Self.insertCurrentRevision(db, test: id, specJSON: specJSON, at: now)
            changes.append(.assignmentsChanged(test: id, agents: try Self.assignedAgents(db, test: id.rawValue)))
        }
        return try await requireTest(id)
    }

    public func cancelTest(_ id: TestID) async throws -> TestRecord {
        let now = Timestamp.now()
        try await writeAndPublish { db, changes in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM tests WHERE id = ?", arguments: [id.rawValue]) != nil else {
                throw Self.noSuchTest(id)
            }
            try db.execute(
                sql: "UPDATE tests SET state = 'cancelled', updated_at = ? WHERE id = ? AND state = 'active'",
                arguments: [now.unixNanos, id.rawValue]
            )
            guard db.changesCount > 0 else { return }  // cancelled already: nothing changed
            changes.append(.assignmentsChanged(test: id, agents: try Self.assignedAgents(db, test: id.rawValue)))
        }
        return try await requireTest(id)
    }

    public func reassignTest(_ id: TestID, agents: [AgentName]) async throws -> TestRecord {
        guard !agents.isEmpty else {
            throw StoreError(code: .invalidInput, message: "a test needs at least one agent")
        }
        let names = Array(Set(agents)).sorted()
        try await writeAndPublish { db, changes in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM tests WHERE id = ?", arguments: [id.rawValue]) != nil else {
                throw Self.noSuchTest(id)
            }
            let before = try Self.assignedAgents(db, test: id.rawValue)
            try db.execute(sql: "DELETE FROM test_assignments WHERE test_id = ?", arguments: [id.rawValue])
            for name in names {
                let agentID = try Self.ensureAgent(db, name: name)
                try db.execute(
                    sql: "INSERT INTO test_assignments (test_id, agent_id) VALUES (?, ?)",
                    arguments: [id.rawValue, agentID]
                )
            }
            try db.execute(
                sql: "UPDATE tests SET updated_at = ? WHERE id = ?",
                arguments: [Timestamp.now().unixNanos, id.rawValue]
            )
            // Both the old and the new agents reconcile: the old ones stop, the new ones start.
            changes.append(.assignmentsChanged(test: id, agents: Array(Set(before + names)).sorted()))
        }
        return try await requireTest(id)
    }

    public func restartTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        let specJSON = try StoredJSON.encode(spec)
        let now = Timestamp.now()
        try await writeAndPublish { db, changes in
            try db.execute(
                sql:
                    "UPDATE tests SET state = 'active', revision = revision + 1, name = ?, updated_at = ? WHERE id = ?",
                arguments: [spec.name, now.unixNanos, id.rawValue]
            )
            guard db.changesCount > 0 else { throw Self.noSuchTest(id) }
            try Self.insertCurrentRevision(db, test: id, specJSON: specJSON, at: now)
            changes.append(.assignmentsChanged(test: id, agents: try Self.assignedAgents(db, test: id.rawValue)))
        }
        return try await requireTest(id)
    }

    public func deleteTests(_ ids: [TestID]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await writeAndPublish { db, changes -> Int in
            var deleted = 0
            for id in Set(ids).sorted() {
                // Read before the delete: the assignments go with the test.
                let agents = try Self.assignedAgents(db, test: id.rawValue)
                try db.execute(sql: "DELETE FROM tests WHERE id = ?", arguments: [id.rawValue])
                guard db.changesCount > 0 else { continue }
                deleted += 1
                changes.append(.assignmentsChanged(test: id, agents: agents))
            }
            return deleted
        }
    }

    public func tests() async throws -> [TestRecord] {
        try await read { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM tests ORDER BY id")
            return try ids.compactMap { try Self.testRecord(db, id: $0) }
        }
    }

    public func tests(matching query: TestQuery) async throws -> TestPage {
        let text = query.text.lowercased()
        let filter = """
            FROM tests t JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision
            WHERE (? = '' OR instr(lower(t.name), ?) > 0
                   OR instr(lower(COALESCE(json_extract(r.spec_json, '$.target.host'), '')), ?) > 0
                   OR instr(lower(COALESCE(json_extract(r.spec_json, '$.target.url'), '')), ?) > 0)
              AND (? IS NULL OR t.state = ?)
              AND (? IS NULL OR t.parent_id = ?)
              AND (? IS NULL OR json_extract(r.spec_json, '$.recurrence.mode') = ?)
            """
        let arguments: StatementArguments = [
            text, text, text, text, query.state?.rawValue, query.state?.rawValue, query.parent?.rawValue,
            query.parent?.rawValue, query.recurrence?.rawValue, query.recurrence?.rawValue,
        ]
        let limit = max(1, min(query.limit, 500))
        let offset = max(0, query.offset)
        return try await read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) " + filter, arguments: arguments) ?? 0
            let ids = try Int64.fetchAll(
                db,
                sql: "SELECT t.id " + filter + " ORDER BY t.id DESC LIMIT \(limit) OFFSET \(offset)",
                arguments: arguments
            )
            return TestPage(tests: try ids.compactMap { try Self.testRecord(db, id: $0) }, total: total)
        }
    }

    public func test(_ id: TestID) async throws -> TestRecord? {
        try await read { db in try Self.testRecord(db, id: id.rawValue) }
    }

    public func activeAssignments(for agent: AgentName) async throws -> [TestAssignment] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT t.id, t.revision, r.spec_json FROM tests t
                    JOIN test_assignments a ON a.test_id = t.id
                    JOIN agents g ON g.id = a.agent_id
                    JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision
                    WHERE g.name = ? AND t.state = 'active'
                    ORDER BY t.id
                    """,
                arguments: [agent.rawValue]
            )
            return try rows.map { row in
                TestAssignment(
                    testID: TestID(row[0]),
                    revision: row[1],
                    spec: try StoredJSON.decode(TestSpec.self, from: row[2])
                )
            }
        }
    }

    public func activeTestIDsByAgent() async throws -> [AgentName: [TestID]] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT g.name, a.test_id FROM test_assignments a
                    JOIN agents g ON g.id = a.agent_id JOIN tests t ON t.id = a.test_id
                    WHERE t.state = 'active' ORDER BY g.name, a.test_id
                    """
            )
            var map: [AgentName: [TestID]] = [:]
            for row in rows {
                guard let name = AgentName(row[0]) else { continue }
                map[name, default: []].append(TestID(row[1]))
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

    /// Stores `specJSON` as the test's current revision (the caller bumped `tests.revision`).
    private static func insertCurrentRevision(_ db: Database, test id: TestID, specJSON: String, at: Timestamp) throws {
        try db.execute(
            sql: """
                INSERT INTO test_revisions (test_id, revision, spec_json, created_at)
                SELECT id, revision, ?, ? FROM tests WHERE id = ?
                """,
            arguments: [specJSON, at.unixNanos, id.rawValue]
        )
    }

    /// The agents a test is assigned to now, by name.
    static func assignedAgents(_ db: Database, test id: Int64) throws -> [AgentName] {
        try String.fetchAll(
            db,
            sql: """
                SELECT g.name FROM test_assignments a JOIN agents g ON g.id = a.agent_id
                WHERE a.test_id = ? ORDER BY g.name
                """,
            arguments: [id]
        ).compactMap(AgentName.init)
    }

    static func testRecord(_ db: Database, id: Int64) throws -> TestRecord? {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT t.*, r.spec_json FROM tests t
                    JOIN test_revisions r ON r.test_id = t.id AND r.revision = t.revision WHERE t.id = ?
                    """,
                arguments: [id]
            )
        else { return nil }
        guard let state = TestState(rawValue: row["state"]) else {
            throw StoreError(code: .corrupt, message: "test \(id) has an unknown state")
        }
        return TestRecord(
            id: TestID(id),
            revision: row["revision"],
            spec: try StoredJSON.decode(TestSpec.self, from: row["spec_json"]),
            state: state,
            agents: try assignedAgents(db, test: id),
            createdAt: Timestamp(unixNanos: row["created_at"]),
            updatedAt: Timestamp(unixNanos: row["updated_at"]),
            parentID: (row["parent_id"] as Int64?).map(TestID.init),
            occurrence: row["occurrence"]
        )
    }
}
