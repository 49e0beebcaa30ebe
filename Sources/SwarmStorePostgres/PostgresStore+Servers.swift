import Logging
import PostgresNIO
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// ServerPresenceStore: servers report themselves; survivors mark a dead server's agents offline.
extension PostgresStore {
    public func recordServerAlive(_ server: ServerPresence) async throws {
        let logger = self.logger
        try await transaction("recording this server alive") { connection in
            try await connection.run(
                """
                INSERT INTO servers (id, address, version, started_at, last_seen)
                VALUES (\(server.id), \(server.address), \(server.version), \(server.startedAt.unixNanos),
                        \(server.lastSeen.unixNanos))
                ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version,
                    last_seen = excluded.last_seen
                """,
                logger
            )
            // Servers silent for a day are history: their agents were marked long ago.
            try await connection.run(
                "DELETE FROM servers WHERE last_seen < \(server.lastSeen.unixNanos - 86_400_000_000_000)",
                logger
            )
        }
    }

    public func servers(seenSince since: Timestamp) async throws -> [ServerPresence] {
        let logger = self.logger
        return try await read("reading servers") { connection in
            try await connection.rows(
                """
                SELECT id, address, version, started_at, last_seen FROM servers
                WHERE last_seen >= \(since.unixNanos) ORDER BY last_seen DESC, id
                """,
                logger
            ).map { row in
                let (id, address, version, started, seen) = try row.decode((String, String, String, Int64, Int64).self)
                return ServerPresence(
                    id: id,
                    address: address,
                    version: version,
                    startedAt: Timestamp(unixNanos: started),
                    lastSeen: Timestamp(unixNanos: seen)
                )
            }
        }
    }

    public func markAgentsOfDeadServersOffline(silentSince: Timestamp, at: Timestamp) async throws -> [AgentName] {
        let logger = self.logger
        return try await transactionAndPublish("marking the agents of silent servers offline") { connection, changes in
            // A server absent from the table (pruned, or never reported) counts as dead too.
            let rows = try await connection.rows(
                """
                UPDATE agents g SET online = false, went_offline_at = \(at.unixNanos)
                FROM (SELECT a.id, a.server_id, s.address FROM agents a LEFT JOIN servers s ON s.id = a.server_id
                      WHERE a.online AND a.server_id <> '' AND (s.id IS NULL OR s.last_seen < \(silentSince.unixNanos))
                      FOR UPDATE OF a) dead
                WHERE g.id = dead.id AND g.online
                RETURNING g.name, dead.server_id, dead.address
                """,
                logger
            )
            var marked: [AgentName] = []
            for row in rows {
                let (name, serverID, address) = try row.decode((String, String, String?).self)
                guard let agent = AgentName(name) else { continue }
                let message = "agent \(agent) marked offline: its server \(address ?? serverID) stopped reporting"
                try await Self.noteOffline(connection, agent, at: at, message, &changes, logger)
                marked.append(agent)
            }
            return marked.sorted { $0.rawValue < $1.rawValue }
        }
    }
}

// LeaseStore: one holder at a time per job, handed over on expiry.
extension PostgresStore {
    public func acquireLease(_ name: String, holder: String, until: Timestamp, now: Timestamp) async throws -> Bool {
        let logger = self.logger
        return try await transaction("taking the \(name) lease") { connection in
            // RETURNING yields a row only when the insert or the guarded update happened.
            try await connection.run(
                """
                INSERT INTO leases AS l (name, holder, expires_at) VALUES (\(name), \(holder), \(until.unixNanos))
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE l.holder = excluded.holder OR l.expires_at < \(now.unixNanos)
                RETURNING 1
                """,
                logger
            ) > 0
        }
    }

    public func releaseLease(_ name: String, holder: String) async throws {
        let logger = self.logger
        try await transaction("releasing the \(name) lease") { connection in
            try await connection.run("DELETE FROM leases WHERE name = \(name) AND holder = \(holder)", logger)
        }
    }
}
