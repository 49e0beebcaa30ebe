import Logging
import PostgresNIO
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// AgentStore: sessions, observed state, delete and revoke.
extension PostgresStore {
    public func recordSessionStart(_ start: SessionStart) async throws {
        let hostJSON = try StoredJSON.encode(start.host)
        let logger = self.logger
        try await transactionAndPublish("recording a session start") { connection, changes in
            try await connection.run(
                """
                INSERT INTO agents (name, first_seen, last_seen, online, went_offline_at, agent_version,
                                    host_json, session_id, certificate_serial, server_id)
                VALUES (\(start.agent.rawValue), \(start.at.unixNanos), \(start.at.unixNanos), true, NULL,
                        \(start.agentVersion), \(hostJSON), \(start.sessionID), \(start.certificateSerial),
                        \(start.serverID))
                ON CONFLICT (name) DO UPDATE SET
                    first_seen = COALESCE(agents.first_seen, EXCLUDED.first_seen),
                    last_seen = EXCLUDED.last_seen, online = true, went_offline_at = NULL,
                    agent_version = EXCLUDED.agent_version, host_json = EXCLUDED.host_json,
                    session_id = EXCLUDED.session_id, certificate_serial = EXCLUDED.certificate_serial,
                    server_id = EXCLUDED.server_id
                """,
                logger
            )
            try await Self.appendEvent(
                connection,
                EventRecord(
                    at: start.at,
                    kind: "agent.online",
                    subject: start.agent.rawValue,
                    message: "agent \(start.agent) connected (version \(start.agentVersion))"
                ),
                logger
            )
            changes.append(.agentChanged(start.agent))
        }
    }

    public func recordAgentStatus(_ updates: [AgentStatusUpdate]) async throws {
        guard !updates.isEmpty else { return }
        let names = updates.map(\.agent.rawValue)
        let seen = updates.map(\.lastSeen.unixNanos)
        // An empty string stands for "no load this time" (arrays carry no NULLs here).
        let loads = try updates.map { try $0.load.map(StoredJSON.encode) ?? "" }
        let logger = self.logger
        try await transaction("recording agent status") { connection in
            try await connection.run(
                """
                UPDATE agents SET last_seen = u.seen, load_json = COALESCE(NULLIF(u.load, ''), agents.load_json)
                FROM unnest(\(names)::text[], \(seen)::bigint[], \(loads)::text[]) AS u(name, seen, load)
                WHERE agents.name = u.name
                """,
                logger
            )
        }
    }

    public func markOffline(_ agent: AgentName, sessionID: String, at: Timestamp) async throws {
        let logger = self.logger
        try await transactionAndPublish("marking an agent offline") { connection, changes in
            let updated = try await connection.run(
                """
                UPDATE agents SET online = false, went_offline_at = \(at.unixNanos)
                WHERE name = \(agent.rawValue) AND session_id = \(sessionID) AND online RETURNING 1
                """,
                logger
            )
            guard updated > 0 else { return }
            try await Self.noteOffline(connection, agent, at: at, "agent \(agent) disconnected", &changes, logger)
        }
    }

    /// The event and the change of an agent gone offline, either way it is marked so.
    static func noteOffline(
        _ connection: PostgresConnection,
        _ agent: AgentName,
        at: Timestamp,
        _ message: String,
        _ changes: inout [StoreChange],
        _ logger: Logger
    ) async throws {
        let event = EventRecord(at: at, kind: "agent.offline", subject: agent.rawValue, message: message)
        try await appendEvent(connection, event, logger)
        changes.append(.agentChanged(agent))
    }

    public func agents() async throws -> [AgentRecord] {
        let logger = self.logger
        return try await read("reading agents") { connection in
            try await connection.rows("SELECT \(unescaped: Self.agentColumns) FROM agents ORDER BY name", logger)
                .compactMap(Self.agentRecord)
        }
    }

    public func agent(_ name: AgentName) async throws -> AgentRecord? {
        let logger = self.logger
        return try await read("reading an agent") { connection in
            try await connection.rows(
                "SELECT \(unescaped: Self.agentColumns) FROM agents WHERE name = \(name.rawValue)",
                logger
            ).first.flatMap(Self.agentRecord)
        }
    }

    public func deleteAgent(_ name: AgentName) async throws {
        let logger = self.logger
        try await transactionAndPublish("deleting an agent") { connection, changes in
            let rows = try await connection.rows(
                "SELECT online FROM agents WHERE name = \(name.rawValue) FOR UPDATE",
                logger
            )
            guard let online = try rows.first?.decode(Bool.self) else {
                throw StoreError(code: .notFound, message: "agent \(name) does not exist")
            }
            if online {
                throw StoreError(
                    code: .conflict,
                    message: "agent \(name) is online; stop it (or revoke it) before deleting it"
                )
            }
            try await connection.run("DELETE FROM agents WHERE name = \(name.rawValue)", logger)
            try await Self.appendEvent(
                connection,
                EventRecord(kind: "agent.deleted", subject: name.rawValue, message: "agent \(name) deleted"),
                logger
            )
            changes.append(.agentChanged(name))
        }
    }

    public func revokeAgent(_ name: AgentName, at: Timestamp) async throws -> AgentRecord {
        let logger = self.logger
        try await transactionAndPublish("revoking an agent") { connection, changes in
            let updated = try await connection.run(
                """
                UPDATE agents SET revoked_at = COALESCE(revoked_at, \(at.unixNanos)) WHERE name = \(name.rawValue)
                RETURNING 1
                """,
                logger
            )
            guard updated > 0 else { throw StoreError(code: .notFound, message: "agent \(name) does not exist") }
            // The name and the serial it last connected with, kept where no delete reaches.
            try await connection.run(
                """
                INSERT INTO revoked_identities (agent_name, serial, revoked_at)
                SELECT name, '', \(at.unixNanos) FROM agents WHERE name = \(name.rawValue)
                UNION ALL
                SELECT name, certificate_serial, \(at.unixNanos) FROM agents
                WHERE name = \(name.rawValue) AND certificate_serial <> ''
                ON CONFLICT DO NOTHING
                """,
                logger
            )
            try await Self.appendEvent(
                connection,
                EventRecord(
                    at: at,
                    kind: "agent.revoked",
                    subject: name.rawValue,
                    message: "agent \(name) revoked: its certificate is refused from now on"
                ),
                logger
            )
            changes.append(.agentChanged(name))
        }
        guard let record = try await agent(name) else {
            throw StoreError(code: .notFound, message: "agent \(name) does not exist")
        }
        return record
    }

    public func isRevoked(_ name: AgentName, serial: String) async throws -> Bool {
        let logger = self.logger
        return try await read("checking a revocation") { connection in
            let rows = try await connection.rows(
                """
                SELECT EXISTS (SELECT 1 FROM revoked_identities
                               WHERE agent_name = \(name.rawValue) OR (\(serial) <> '' AND serial = \(serial)))
                """,
                logger
            )
            // Fail closed: no answer is a refusal.
            return try rows.first?.decode(Bool.self) ?? true
        }
    }

    static let agentColumns = """
        name, first_seen, last_seen, online, went_offline_at, agent_version, host_json, load_json,
        last_acked_batch_id, session_id, revoked_at
        """

    static func agentRecord(_ row: PostgresRow) throws -> AgentRecord? {
        let (name, firstSeen, lastSeen, online, offline, version, hostJSON, loadJSON, acked, session, revoked) =
            try row.decode((String, Int64?, Int64?, Bool, Int64?, String, String?, String?, Int64, String, Int64?).self)
        guard let name = AgentName(name) else { return nil }
        return AgentRecord(
            name: name,
            firstSeen: firstSeen.map(Timestamp.init(unixNanos:)),
            lastSeen: lastSeen.map(Timestamp.init(unixNanos:)),
            online: online,
            wentOfflineAt: offline.map(Timestamp.init(unixNanos:)),
            agentVersion: version,
            // try?: a host-facts blob that no longer decodes is shown as unknown, not an error.
            host: hostJSON.flatMap { try? StoredJSON.decode(HostFacts.self, from: $0) },
            load: loadJSON.flatMap { try? StoredJSON.decode(LoadSnapshot.self, from: $0) },
            lastAckedBatchID: UInt64(bitPattern: acked),
            sessionID: session,
            revokedAt: revoked.map(Timestamp.init(unixNanos:))
        )
    }
}
