import GRDB
import SwarmCore
// why: the conformances take and return SwarmStore types.
public import SwarmStore

// EventStore: the append-only log of what happened. Mutations append their event inside their own
// transaction (``appendEvent(_:_:)``), so an event never describes a change that did not commit.
extension SQLiteStore {
    public func appendEvent(_ event: EventRecord) async throws {
        try await write { db in try Self.appendEvent(db, event) }
    }

    public func events(limit: Int, includingAccounts: Bool) async throws -> [EventRecord] {
        let accounts = EventRecord.accountKindPrefixes.map { _ in "kind NOT LIKE ?" }.joined(separator: " AND ")
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM events WHERE ? OR (\(accounts)) ORDER BY id DESC LIMIT ?",
                arguments: StatementArguments(
                    [includingAccounts] + EventRecord.accountKindPrefixes.map { "\($0)%" } + [max(1, min(limit, 1000))]
                )
            ).map { row in
                EventRecord(
                    id: row["id"],
                    at: Timestamp(unixNanos: row["at"]),
                    kind: row["kind"],
                    subject: row["subject"],
                    message: row["message"]
                )
            }
        }
    }

    /// Appends inside the caller's transaction, so the event and the change land together.
    static func appendEvent(_ db: Database, _ event: EventRecord) throws {
        try db.execute(
            sql: "INSERT INTO events (at, kind, subject, message) VALUES (?, ?, ?, ?)",
            arguments: [event.at.unixNanos, event.kind, event.subject, event.message]
        )
    }
}
