import GRDB
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// ServerPresenceStore: servers report themselves; survivors mark a dead server's agents offline.
extension SQLiteStore {
    public func recordServerAlive(_ server: ServerPresence) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO servers (id, address, version, started_at, last_seen) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET address = excluded.address, version = excluded.version,
                        last_seen = excluded.last_seen
                    """,
                arguments: [
                    server.id, server.address, server.version, server.startedAt.unixNanos, server.lastSeen.unixNanos,
                ]
            )
            // Servers silent for a day are history: their agents were marked long ago.
            try db.execute(
                sql: "DELETE FROM servers WHERE last_seen < ?",
                arguments: [server.lastSeen.unixNanos - 86_400_000_000_000]
            )
        }
    }

    public func servers(seenSince since: Timestamp) async throws -> [ServerPresence] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM servers WHERE last_seen >= ? ORDER BY last_seen DESC, id",
                arguments: [since.unixNanos]
            ).map { row in
                ServerPresence(
                    id: row["id"],
                    address: row["address"],
                    version: row["version"],
                    startedAt: Timestamp(unixNanos: row["started_at"]),
                    lastSeen: Timestamp(unixNanos: row["last_seen"])
                )
            }
        }
    }

    public func markAgentsOfDeadServersOffline(silentSince: Timestamp, at: Timestamp) async throws -> [AgentName] {
        try await writeAndPublish { db, changes in
            // A server absent from the table (pruned, or never reported) counts as dead too.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT g.name, g.server_id, s.address FROM agents g LEFT JOIN servers s ON s.id = g.server_id
                    WHERE g.online = 1 AND g.server_id != '' AND (s.id IS NULL OR s.last_seen < ?)
                    """,
                arguments: [silentSince.unixNanos]
            )
            var marked: [AgentName] = []
            for row in rows {
                guard let agent = AgentName(row["name"]) else { continue }
                let serverID: String = row["server_id"]
                let address: String? = row["address"]
                try db.execute(
                    sql:
                        "UPDATE agents SET online = 0, went_offline_at = ? WHERE name = ? AND server_id = ? AND online = 1",
                    arguments: [at.unixNanos, agent.rawValue, serverID]
                )
                guard db.changesCount > 0 else { continue }
                let message = "agent \(agent) marked offline: its server \(address ?? serverID) stopped reporting"
                try Self.noteOffline(db, agent, at: at, message, &changes)
                marked.append(agent)
            }
            return marked
        }
    }
}

// LeaseStore: one holder at a time per job, handed over on expiry.
extension SQLiteStore {
    public func acquireLease(_ name: String, holder: String, until: Timestamp, now: Timestamp) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                    WHERE leases.holder = excluded.holder OR leases.expires_at < ?
                    """,
                arguments: [name, holder, until.unixNanos, now.unixNanos]
            )
            return try String.fetchOne(db, sql: "SELECT holder FROM leases WHERE name = ?", arguments: [name]) == holder
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM leases WHERE name = ? AND holder = ?", arguments: [name, holder])
        }
    }
}
