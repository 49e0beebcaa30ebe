import Logging
import PostgresNIO
// why: the conformances take SwarmStore schedule specs and return SwarmCore times in records.
public import SwarmCore
public import SwarmStore

extension PostgresStore {
    public func createReportSchedule(_ spec: ReportScheduleSpec, by user: String) async throws -> ReportScheduleRecord {
        try spec.validate()
        let json = try StoredJSON.encode(spec)
        let now = Timestamp.now()
        let logger = self.logger
        return try await transaction("adding a report schedule") { connection in
            // FOR SHARE: the channel cannot be deleted until this schedule is committed.
            guard
                let channel = try await connection.rows(
                    "SELECT spec_json FROM alert_channels WHERE name = \(spec.channel) FOR SHARE",
                    logger
                ).first?.decode(String.self)
            else {
                throw StoreError(
                    code: .invalidInput,
                    message:
                        "there is no channel \(spec.channel): add an e-mail channel first (streamswarm alerts add-channel)"
                )
            }
            guard try StoredJSON.decode(AlertChannelSpec.self, from: channel).kind == .email else {
                throw StoreError(code: .invalidInput, message: "channel \(spec.channel) is not an e-mail channel")
            }
            let rows: [PostgresRow]
            do {
                rows = try await connection.rows(
                    """
                    INSERT INTO report_schedules (name, channel_name, spec_json, created_by, created_at)
                    VALUES (\(spec.name), \(spec.channel), \(json), \(user), \(now.unixNanos)) RETURNING id
                    """,
                    logger
                )
            } catch  where Self.isUniqueViolation(error) {
                throw StoreError(code: .conflict, message: "a report schedule named \(spec.name) exists already")
            }
            guard let id = try rows.first?.decode(Int64.self) else {
                throw StoreError(code: .corrupt, message: "adding a report schedule returned no id")
            }
            try await Self.appendEvent(
                connection,
                EventRecord(
                    kind: "report_schedule.created",
                    subject: spec.name,
                    message: "\(spec.cadence.rawValue) report of \(spec.scope) to \(spec.channel) added by \(user)"
                ),
                logger
            )
            return ReportScheduleRecord(id: id, spec: spec, createdBy: user, createdAt: now)
        }
    }

    public func reportSchedules() async throws -> [ReportScheduleRecord] {
        let logger = self.logger
        return try await read("reading report schedules") { connection in
            try await connection.rows(
                """
                SELECT id, spec_json, created_by, created_at, last_period_end, last_attempt_at, last_error, sent
                FROM report_schedules ORDER BY name
                """,
                logger
            ).map { row in
                let (id, json, by, created, end, attempt, error, sent) = try row.decode(
                    (Int64, String, String, Int64, Int64?, Int64?, String, Int32).self
                )
                return ReportScheduleRecord(
                    id: id,
                    spec: try StoredJSON.decode(ReportScheduleSpec.self, from: json),
                    createdBy: by,
                    createdAt: Timestamp(unixNanos: created),
                    lastPeriodEnd: end.map(Timestamp.init(unixNanos:)),
                    lastAttemptAt: attempt.map(Timestamp.init(unixNanos:)),
                    lastError: error,
                    sent: Int(sent)
                )
            }
        }
    }

    public func deleteReportSchedule(_ id: Int64) async throws {
        let logger = self.logger
        try await transaction("deleting a report schedule") { connection in
            guard
                let name = try await connection.rows(
                    "DELETE FROM report_schedules WHERE id = \(id) RETURNING name",
                    logger
                ).first?.decode(String.self)
            else { throw StoreError(code: .notFound, message: "report schedule \(id) does not exist") }
            try await Self.appendEvent(
                connection,
                EventRecord(kind: "report_schedule.deleted", subject: name, message: "report schedule \(name) removed"),
                logger
            )
        }
    }

    public func recordReportDelivery(_ id: Int64, _ delivery: ReportDelivery, at: Timestamp) async throws {
        let logger = self.logger
        try await transaction("recording a report delivery") { connection in
            let changed: Int
            switch delivery {
            case .sent(let end):
                // Never moves back: a slow attempt finishing after a newer one keeps the newer end.
                changed = try await connection.run(
                    """
                    UPDATE report_schedules SET last_period_end = GREATEST(COALESCE(last_period_end, \(end.unixNanos)), \(end.unixNanos)),
                        last_attempt_at = \(at.unixNanos), last_error = '', sent = sent + 1 WHERE id = \(id) RETURNING 1
                    """,
                    logger
                )
            case .failed(let reason):
                changed = try await connection.run(
                    "UPDATE report_schedules SET last_attempt_at = \(at.unixNanos), last_error = \(reason) WHERE id = \(id) RETURNING 1",
                    logger
                )
            }
            guard changed == 1 else {
                throw StoreError(code: .notFound, message: "report schedule \(id) does not exist")
            }
        }
    }
}
