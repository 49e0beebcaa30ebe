import Logging
import PostgresNIO
import SwarmCore
// why: the conformances take and return SwarmStore types.
public import SwarmStore

// EventStore: the append-only log of what happened. Mutations append their event inside their own
// transaction (``appendEvent(_:_:_:)``), so an event never describes a change that did not commit.
extension PostgresStore {
    public func appendEvent(_ event: EventRecord) async throws {
        let logger = self.logger
        try await transaction("appending an event") { connection in
            try await Self.appendEvent(connection, event, logger)
        }
    }

    public func events(limit: Int, includingAccounts: Bool) async throws -> [EventRecord] {
        let patterns = EventRecord.accountKindPrefixes.map { "\($0)%" }
        let limit = max(1, min(limit, 1000))
        let logger = self.logger
        return try await read("reading events") { connection in
            try await connection.rows(
                """
                SELECT id, at, kind, subject, message FROM events
                WHERE \(includingAccounts) OR NOT (kind LIKE ANY(\(patterns)::text[]))
                ORDER BY id DESC LIMIT \(limit)
                """,
                logger
            ).map { row in
                let (id, at, kind, subject, message) = try row.decode((Int64, Int64, String, String, String).self)
                return EventRecord(id: id, at: Timestamp(unixNanos: at), kind: kind, subject: subject, message: message)
            }
        }
    }

    /// Appends inside the caller's transaction, so the event and the change land together.
    static func appendEvent(_ connection: PostgresConnection, _ event: EventRecord, _ logger: Logger) async throws {
        try await connection.run(
            """
            INSERT INTO events (at, kind, subject, message)
            VALUES (\(event.at.unixNanos), \(event.kind), \(event.subject), \(event.message))
            """,
            logger
        )
    }
}
