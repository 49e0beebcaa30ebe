import GRDB
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore
import Synchronization

// Agent and test management the gateway needs beyond the mesh: delete, revoke, restart, search.
extension SQLiteStore {
    public func deleteAgent(_ name: AgentName) async throws {
        try await write { db in
            guard
                let online = try Bool.fetchOne(
                    db,
                    sql: "SELECT online FROM agents WHERE name = ?",
                    arguments: [name.rawValue]
                )
            else { throw StoreError(code: .notFound, message: "agent \(name) does not exist") }
            if online {
                throw StoreError(
                    code: .conflict,
                    message: "agent \(name) is online; stop it (or revoke it) before deleting it"
                )
            }
            try db.execute(sql: "DELETE FROM agents WHERE name = ?", arguments: [name.rawValue])
            try Self.bumpTestsGeneration(db)
            try Self.appendEvent(
                db,
                EventRecord(kind: "agent.deleted", subject: name.rawValue, message: "agent \(name) deleted")
            )
        }
        ownBumps.withLock { $0 += 1 }
        feed.publish(.agentChanged(name))
    }

    public func revokeAgent(_ name: AgentName, at: Timestamp) async throws -> AgentRecord {
        try await write { db in
            try db.execute(
                sql: "UPDATE agents SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?",
                arguments: [at.unixNanos, name.rawValue]
            )
            guard db.changesCount > 0 else {
                throw StoreError(code: .notFound, message: "agent \(name) does not exist")
            }
            // The name and the serial it last connected with, kept where no delete reaches.
            try db.execute(
                sql: """
                    INSERT INTO revoked_identities (agent_name, serial, revoked_at)
                    SELECT name, '', ? FROM agents WHERE name = ?
                    UNION ALL
                    SELECT name, certificate_serial, ? FROM agents WHERE name = ? AND certificate_serial != ''
                    ON CONFLICT DO NOTHING
                    """,
                arguments: [at.unixNanos, name.rawValue, at.unixNanos, name.rawValue]
            )
            try Self.appendEvent(
                db,
                EventRecord(
                    at: at,
                    kind: "agent.revoked",
                    subject: name.rawValue,
                    message: "agent \(name) revoked: its certificate is refused from now on"
                )
            )
        }
        feed.publish(.agentChanged(name))
        guard let record = try await agent(name) else {
            throw StoreError(code: .notFound, message: "agent \(name) does not exist")
        }
        return record
    }

    public func isRevoked(_ name: AgentName, serial: String) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM revoked_identities
                                   WHERE agent_name = ? OR (? != '' AND serial = ?))
                    """,
                arguments: [name.rawValue, serial, serial]
            ) ?? true
        }
    }

    public func createChildTest(_ spec: TestSpec, parent: TestID, occurrence: Int) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        let specJSON = try Self.json(spec)
        let now = Timestamp.now()
        let (id, agents) = try await write { db -> (Int64, [AgentName]) in
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
            try Self.bumpTestsGeneration(db)
            let names = try String.fetchAll(
                db,
                sql: "SELECT g.name FROM test_assignments a JOIN agents g ON g.id = a.agent_id WHERE a.test_id = ?",
                arguments: [id]
            )
            return (id, names.compactMap(AgentName.init))
        }
        ownBumps.withLock { $0 += 1 }
        feed.publish(.assignmentsChanged(test: TestID(id), agents: agents))
        return try await requireTest(TestID(id))
    }

    public func reassignTest(_ id: TestID, agents: [AgentName]) async throws -> TestRecord {
        guard !agents.isEmpty else {
            throw StoreError(code: .invalidInput, message: "a test needs at least one agent")
        }
        let before = try await requireTest(id)
        let names = Array(Set(agents)).sorted()
        try await write { db in
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
            try Self.bumpTestsGeneration(db)
        }
        ownBumps.withLock { $0 += 1 }
        // Both the old and the new agents reconcile: the old ones stop, the new ones start.
        feed.publish(.assignmentsChanged(test: id, agents: Array(Set(before.agents + names)).sorted()))
        return try await requireTest(id)
    }

    public func restartTest(_ id: TestID, spec: TestSpec) async throws -> TestRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.description) }
        let specJSON = try Self.json(spec)
        let now = Timestamp.now()
        try await write { db in
            try db.execute(
                sql:
                    "UPDATE tests SET state = 'active', revision = revision + 1, name = ?, updated_at = ? WHERE id = ?",
                arguments: [spec.name, now.unixNanos, id.rawValue]
            )
            guard db.changesCount > 0 else {
                throw StoreError(code: .notFound, message: "test \(id) does not exist (see 'streamswarm tests list')")
            }
            try db.execute(
                sql: """
                    INSERT INTO test_revisions (test_id, revision, spec_json, created_at)
                    SELECT id, revision, ?, ? FROM tests WHERE id = ?
                    """,
                arguments: [specJSON, now.unixNanos, id.rawValue]
            )
            try Self.bumpTestsGeneration(db)
        }
        ownBumps.withLock { $0 += 1 }
        let record = try await requireTest(id)
        feed.publish(.assignmentsChanged(test: id, agents: record.agents))
        return record
    }

    public func deleteTests(_ ids: [TestID]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        var affected: [(TestID, [AgentName])] = []
        for id in ids { if let record = try await test(id) { affected.append((id, record.agents)) } }
        let deleted = try await write { db -> Int in
            var deleted = 0
            for id in ids {
                try db.execute(sql: "DELETE FROM tests WHERE id = ?", arguments: [id.rawValue])
                deleted += db.changesCount
            }
            if deleted > 0 { try Self.bumpTestsGeneration(db) }
            return deleted
        }
        if deleted > 0 { ownBumps.withLock { $0 += 1 } }
        for (id, agents) in affected { feed.publish(.assignmentsChanged(test: id, agents: agents)) }
        return deleted
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

    public func progress(test: TestID) async throws -> TestProgress {
        try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: "SELECT COUNT(*), MAX(ts) FROM measurements WHERE test_id = ?",
                arguments: [test.rawValue]
            )
            let last: Int64? = row?[1]
            return TestProgress(results: row?[0] ?? 0, lastResultAt: last.map(Timestamp.init(unixNanos:)))
        }
    }

    public func series(_ query: SeriesQuery) async throws -> [SeriesBucket] {
        let bucket = max(query.bucket.nanoseconds, 1)
        let from = query.range.from.unixNanos
        var conditions = ["m.ts >= ?", "m.ts < ?"]
        // In the order of the placeholders: the bucket expression, then the conditions.
        var arguments: StatementArguments = [from, bucket, bucket, from, from, query.range.to.unixNanos]
        if let test = query.test {
            conditions.append("m.test_id = ?")
            arguments += [test.rawValue]
        }
        if let agent = query.agent {
            conditions.append("m.agent_id = (SELECT id FROM agents WHERE name = ?)")
            arguments += [agent.rawValue]
        } else {
            // An IN over the small agents table lets SQLite seek (test, agent, ts) per agent
            // instead of scanning the test's whole series.
            conditions.append("m.agent_id IN (SELECT id FROM agents)")
        }
        if !query.kinds.isEmpty {
            conditions.append("m.kind IN (\(Array(repeating: "?", count: query.kinds.count).joined(separator: ",")))")
            arguments += StatementArguments(query.kinds.map(\.rawValue))
        }
        let sql = """
            SELECT g.name, m.kind, ((m.ts - ?) / ?) * ? + ? AS bucket, COUNT(*), SUM(m.status = 'ok'),
                   MIN(m.value), AVG(m.value), MAX(m.value), MIN(m.low), MAX(m.high), AVG(m.loss), AVG(m.jitter)
            FROM measurements m JOIN agents g ON g.id = m.agent_id
            WHERE \(conditions.joined(separator: " AND "))
            GROUP BY m.agent_id, m.kind, bucket
            ORDER BY g.name, m.kind, bucket
            """
        let bound = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: bound).compactMap { row in
                guard let agent = AgentName(row[0]), let kind = ProbeKind(rawValue: row[1]) else { return nil }
                return SeriesBucket(
                    agent: agent,
                    kind: kind,
                    start: Timestamp(unixNanos: row[2]),
                    count: row[3],
                    okCount: row[4],
                    min: row[5],
                    avg: row[6],
                    max: row[7],
                    low: row[8],
                    high: row[9],
                    lossPercent: row[10],
                    jitterMicros: row[11]
                )
            }
        }
    }

    public func latestMeasurements(tests: [TestID], since: Timestamp) async throws -> [MeasurementRecord] {
        guard !tests.isEmpty else { return [] }
        return try await read { db in
            var records: [MeasurementRecord] = []
            let statement = try db.cachedStatement(
                sql: """
                    SELECT m.*, g.name AS agent_name FROM test_assignments a
                    JOIN agents g ON g.id = a.agent_id
                    JOIN measurements m ON m.test_id = a.test_id AND m.agent_id = a.agent_id
                    WHERE a.test_id = ? AND m.ts >= ?
                      AND m.ts = (SELECT MAX(ts) FROM measurements x WHERE x.test_id = a.test_id AND x.agent_id = a.agent_id)
                    """
            )
            for test in tests {
                let rows = try Row.fetchAll(statement, arguments: [test.rawValue, since.unixNanos])
                records.append(contentsOf: rows.compactMap(Self.measurementRecord))
            }
            return records
        }
    }
}
