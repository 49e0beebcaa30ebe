import GRDB
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// AgentStore: sessions, observed state, delete and revoke.
extension SQLiteStore {
    public func recordSessionStart(_ start: SessionStart) async throws {
        let hostJSON = try StoredJSON.encode(start.host)
        try await writeAndPublish { db, changes in
            try db.execute(
                sql: """
                    INSERT INTO agents (name, first_seen, last_seen, online, went_offline_at, agent_version,
                                        host_json, session_id, certificate_serial, server_id)
                    VALUES (?, ?, ?, 1, NULL, ?, ?, ?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET
                        first_seen = COALESCE(first_seen, excluded.first_seen),
                        last_seen = excluded.last_seen, online = 1, went_offline_at = NULL,
                        agent_version = excluded.agent_version, host_json = excluded.host_json,
                        session_id = excluded.session_id, certificate_serial = excluded.certificate_serial,
                        server_id = excluded.server_id
                    """,
                arguments: [
                    start.agent.rawValue, start.at.unixNanos, start.at.unixNanos, start.agentVersion, hostJSON,
                    start.sessionID, start.certificateSerial, start.serverID,
                ]
            )
            try Self.appendEvent(
                db,
                EventRecord(
                    at: start.at,
                    kind: "agent.online",
                    subject: start.agent.rawValue,
                    message: "agent \(start.agent) connected (version \(start.agentVersion))"
                )
            )
            changes.append(.agentChanged(start.agent))
        }
    }

    public func recordAgentStatus(_ updates: [AgentStatusUpdate]) async throws {
        guard !updates.isEmpty else { return }
        let rows = try updates.map { ($0.agent.rawValue, $0.lastSeen.unixNanos, try $0.load.map(StoredJSON.encode)) }
        try await write { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE agents SET last_seen = ?, load_json = COALESCE(?, load_json) WHERE name = ?"
            )
            for (name, seen, load) in rows {
                try statement.execute(arguments: [seen, load, name])
            }
        }
    }

    public func markOffline(_ agent: AgentName, sessionID: String, at: Timestamp) async throws {
        try await writeAndPublish { db, changes in
            try db.execute(
                sql:
                    "UPDATE agents SET online = 0, went_offline_at = ? WHERE name = ? AND session_id = ? AND online = 1",
                arguments: [at.unixNanos, agent.rawValue, sessionID]
            )
            guard db.changesCount > 0 else { return }
            try Self.noteOffline(db, agent, at: at, "agent \(agent) disconnected", &changes)
        }
    }

    /// The event and the change for an agent just marked offline.
    static func noteOffline(
        _ db: Database,
        _ agent: AgentName,
        at: Timestamp,
        _ message: String,
        _ changes: inout [StoreChange]
    ) throws {
        try appendEvent(db, EventRecord(at: at, kind: "agent.offline", subject: agent.rawValue, message: message))
        changes.append(.agentChanged(agent))
    }

    public func agents() async throws -> [AgentRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY name").compactMap(Self.agentRecord)
        }
    }

    public func agent(_ name: AgentName) async throws -> AgentRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE name = ?", arguments: [name.rawValue])
                .flatMap(Self.agentRecord)
        }
    }

    public func deleteAgent(_ name: AgentName) async throws {
        try await writeAndPublish { db, changes in
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
            try Self.appendEvent(
                db,
                EventRecord(kind: "agent.deleted", subject: name.rawValue, message: "agent \(name) deleted")
            )
            changes.append(.agentChanged(name))
        }
    }

    public func revokeAgent(_ name: AgentName, at: Timestamp) async throws -> AgentRecord {
        try await writeAndPublish { db, changes in
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
            changes.append(.agentChanged(name))
        }
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

    static func agentRecord(_ row: Row) -> AgentRecord? {
        guard let name = AgentName(row["name"]) else { return nil }
        let hostJSON: String? = row["host_json"]
        let loadJSON: String? = row["load_json"]
        let firstSeen: Int64? = row["first_seen"]
        let lastSeen: Int64? = row["last_seen"]
        let offline: Int64? = row["went_offline_at"]
        let acked: Int64 = row["last_acked_batch_id"]
        return AgentRecord(
            name: name,
            firstSeen: firstSeen.map(Timestamp.init(unixNanos:)),
            lastSeen: lastSeen.map(Timestamp.init(unixNanos:)),
            online: row["online"],
            wentOfflineAt: offline.map(Timestamp.init(unixNanos:)),
            agentVersion: row["agent_version"],
            // try?: a host-facts blob that no longer decodes is shown as unknown, not an error.
            host: hostJSON.flatMap { try? StoredJSON.decode(HostFacts.self, from: $0) },
            load: loadJSON.flatMap { try? StoredJSON.decode(LoadSnapshot.self, from: $0) },
            lastAckedBatchID: UInt64(bitPattern: acked),
            sessionID: row["session_id"],
            revokedAt: (row["revoked_at"] as Int64?).map(Timestamp.init(unixNanos:))
        )
    }
}
