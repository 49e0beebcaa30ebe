import GRDB
// why: the conformances take SwarmStore schedule specs and return SwarmCore times in records.
public import SwarmCore
public import SwarmStore

extension SQLiteStore {
    public func createReportSchedule(_ spec: ReportScheduleSpec, by user: String) async throws -> ReportScheduleRecord {
        try spec.validate()
        let json = try StoredJSON.encode(spec)
        let now = Timestamp.now()
        return try await write { db in
            let channel = try Row.fetchOne(
                db,
                sql: "SELECT spec_json FROM alert_channels WHERE name = ?",
                arguments: [spec.channel]
            )
            guard let channel else {
                throw StoreError(
                    code: .invalidInput,
                    message:
                        "there is no channel \(spec.channel): add an e-mail channel first (streamswarm alerts add-channel)"
                )
            }
            guard try StoredJSON.decode(AlertChannelSpec.self, from: channel["spec_json"]).kind == .email else {
                throw StoreError(code: .invalidInput, message: "channel \(spec.channel) is not an e-mail channel")
            }
            do {
                try db.execute(
                    sql: """
                        INSERT INTO report_schedules (name, channel_name, spec_json, created_by, created_at)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                    arguments: [spec.name, spec.channel, json, user, now.unixNanos]
                )
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError(code: .conflict, message: "a report schedule named \(spec.name) exists already")
            }
            let id = db.lastInsertedRowID
            try Self.appendEvent(
                db,
                EventRecord(
                    kind: "report_schedule.created",
                    subject: spec.name,
                    message: "\(spec.cadence.rawValue) report of \(spec.scope) to \(spec.channel) added by \(user)"
                )
            )
            return ReportScheduleRecord(id: id, spec: spec, createdBy: user, createdAt: now)
        }
    }

    public func reportSchedules() async throws -> [ReportScheduleRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM report_schedules ORDER BY name").map { row in
                ReportScheduleRecord(
                    id: row["id"],
                    spec: try StoredJSON.decode(ReportScheduleSpec.self, from: row["spec_json"]),
                    createdBy: row["created_by"],
                    createdAt: Timestamp(unixNanos: row["created_at"]),
                    lastPeriodEnd: (row["last_period_end"] as Int64?).map(Timestamp.init(unixNanos:)),
                    lastAttemptAt: (row["last_attempt_at"] as Int64?).map(Timestamp.init(unixNanos:)),
                    lastError: row["last_error"],
                    sent: row["sent"]
                )
            }
        }
    }

    public func deleteReportSchedule(_ id: Int64) async throws {
        try await write { db in
            guard
                let name = try String.fetchOne(
                    db,
                    sql: "SELECT name FROM report_schedules WHERE id = ?",
                    arguments: [id]
                )
            else { throw StoreError(code: .notFound, message: "report schedule \(id) does not exist") }
            try db.execute(sql: "DELETE FROM report_schedules WHERE id = ?", arguments: [id])
            try Self.appendEvent(
                db,
                EventRecord(kind: "report_schedule.deleted", subject: name, message: "report schedule \(name) removed")
            )
        }
    }

    public func recordReportDelivery(_ id: Int64, _ delivery: ReportDelivery, at: Timestamp) async throws {
        try await write { db in
            switch delivery {
            case .sent(let end):
                // Never moves back: a slow attempt finishing after a newer one keeps the newer end.
                try db.execute(
                    sql: """
                        UPDATE report_schedules SET last_period_end = MAX(COALESCE(last_period_end, ?), ?),
                            last_attempt_at = ?, last_error = '', sent = sent + 1 WHERE id = ?
                        """,
                    arguments: [end.unixNanos, end.unixNanos, at.unixNanos, id]
                )
            case .failed(let reason):
                try db.execute(
                    sql: "UPDATE report_schedules SET last_attempt_at = ?, last_error = ? WHERE id = ?",
                    arguments: [at.unixNanos, reason, id]
                )
            }
            guard db.changesCount == 1 else {
                throw StoreError(code: .notFound, message: "report schedule \(id) does not exist")
            }
        }
    }
}
