import GRDB
// why: the conformances take SwarmCore alert specs and return SwarmStore records.
public import SwarmCore
public import SwarmStore

// AlertStore: rules, channels, alerts, silences and the notification outbox. An alert and its
// notifications are written in one transaction; raising and clearing also append an event.
extension SQLiteStore {
    public func createAlertRule(_ spec: AlertRuleSpec) async throws -> AlertRuleRecord {
        let json = try spec.validatedJSON()
        let now = Timestamp.now()
        return try await write { db in
            try Self.requireChannels(spec.channels, db)
            do {
                try db.execute(
                    sql: "INSERT INTO alert_rules (name, spec_json, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    arguments: [spec.name, json, now.unixNanos, now.unixNanos]
                )
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError(code: .conflict, message: "an alert rule named \(spec.name) exists already")
            }
            let id = db.lastInsertedRowID
            try Self.appendEvent(db, EventRecord(kind: "alert_rule.created", subject: spec.name, message: spec.summary))
            return AlertRuleRecord(id: id, spec: spec, createdAt: now, updatedAt: now)
        }
    }

    public func updateAlertRule(_ id: Int64, spec: AlertRuleSpec) async throws -> AlertRuleRecord {
        let json = try spec.validatedJSON()
        let now = Timestamp.now()
        try await write { db in
            try Self.requireChannels(spec.channels, db)
            do {
                try db.execute(
                    sql: "UPDATE alert_rules SET name = ?, spec_json = ?, updated_at = ? WHERE id = ?",
                    arguments: [spec.name, json, now.unixNanos, id]
                )
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError(code: .conflict, message: "an alert rule named \(spec.name) exists already")
            }
            guard db.changesCount == 1 else {
                throw StoreError(code: .notFound, message: "alert rule \(id) does not exist")
            }
            try Self.appendEvent(db, EventRecord(kind: "alert_rule.updated", subject: spec.name, message: spec.summary))
        }
        guard let rule = try await alertRule(id) else {
            throw StoreError(code: .notFound, message: "alert rule \(id) vanished while it was updated")
        }
        return rule
    }

    public func alertRules() async throws -> [AlertRuleRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM alert_rules ORDER BY name").map(Self.ruleRecord)
        }
    }

    public func alertRule(_ id: Int64) async throws -> AlertRuleRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM alert_rules WHERE id = ?", arguments: [id]).map(Self.ruleRecord)
        }
    }

    public func deleteAlertRule(_ id: Int64) async throws {
        let now = Timestamp.now()
        try await write { db in
            guard let name = try String.fetchOne(db, sql: "SELECT name FROM alert_rules WHERE id = ?", arguments: [id])
            else { throw StoreError(code: .notFound, message: "alert rule \(id) does not exist") }
            try db.execute(
                sql: "UPDATE alerts SET cleared_at = ? WHERE rule_id = ? AND cleared_at IS NULL",
                arguments: [now.unixNanos, id]
            )
            let cleared = db.changesCount
            try db.execute(sql: "DELETE FROM alert_rules WHERE id = ?", arguments: [id])
            try Self.appendEvent(
                db,
                EventRecord(
                    kind: "alert_rule.deleted",
                    subject: name,
                    message: "alert rule \(name) deleted; \(cleared) open alert(s) of it cleared, its history kept"
                )
            )
        }
    }

    public func createAlertChannel(_ spec: AlertChannelSpec) async throws -> AlertChannelRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.message) }
        let json = try StoredJSON.encode(spec)
        let now = Timestamp.now()
        return try await write { db in
            do {
                try db.execute(
                    sql: "INSERT INTO alert_channels (name, spec_json, created_at) VALUES (?, ?, ?)",
                    arguments: [spec.name, json, now.unixNanos]
                )
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError(code: .conflict, message: "a notification channel named \(spec.name) exists already")
            }
            let id = db.lastInsertedRowID
            try Self.appendEvent(
                db,
                EventRecord(
                    kind: "alert_channel.created",
                    subject: spec.name,
                    message: "\(spec.kind.rawValue) channel \(spec.name) added"
                )
            )
            return AlertChannelRecord(id: id, spec: spec, createdAt: now)
        }
    }

    public func alertChannels() async throws -> [AlertChannelRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alert_channels ORDER BY name").map { row in
                AlertChannelRecord(
                    id: row["id"],
                    spec: try StoredJSON.decode(AlertChannelSpec.self, from: row["spec_json"]),
                    createdAt: Timestamp(unixNanos: row["created_at"])
                )
            }
        }
    }

    public func deleteAlertChannel(_ id: Int64) async throws {
        try await write { db in
            guard
                let name = try String.fetchOne(db, sql: "SELECT name FROM alert_channels WHERE id = ?", arguments: [id])
            else { throw StoreError(code: .notFound, message: "notification channel \(id) does not exist") }
            let rules = try Row.fetchAll(db, sql: "SELECT * FROM alert_rules").map(Self.ruleRecord)
            if let user = rules.first(where: { $0.spec.channels.contains(name) }) {
                throw StoreError(
                    code: .conflict,
                    message: "alert rule \(user.spec.name) sends to channel \(name): change that rule first"
                )
            }
            if let schedule = try String.fetchOne(
                db,
                sql: "SELECT name FROM report_schedules WHERE channel_name = ? ORDER BY name LIMIT 1",
                arguments: [name]
            ) {
                throw StoreError(
                    code: .conflict,
                    message: "report schedule \(schedule) mails through channel \(name): delete that schedule first"
                )
            }
            try db.execute(sql: "DELETE FROM alert_channels WHERE id = ?", arguments: [id])
            try Self.appendEvent(
                db,
                EventRecord(kind: "alert_channel.deleted", subject: name, message: "channel \(name) removed")
            )
        }
    }

    public func raiseAlert(_ alert: AlertRecord, notify channels: [Int64]) async throws -> AlertRecord {
        try await write { db in
            do {
                try db.execute(
                    sql: """
                        INSERT INTO alerts (rule_id, rule_name, metric, severity, test_id, agent_name, raised_at,
                            raised_value, message, silenced)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        alert.ruleID, alert.ruleName, alert.metric.rawValue, alert.severity.rawValue,
                        alert.test?.rawValue, alert.agent?.rawValue ?? "", alert.raisedAt.unixNanos, alert.raisedValue,
                        alert.message, alert.silenced,
                    ]
                )
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                throw StoreError(
                    code: .conflict,
                    message: "rule \(alert.ruleName) already has an open alert for this scope"
                )
            }
            var raised = alert
            raised.id = db.lastInsertedRowID
            try Self.queue(.raised, of: raised.id, to: channels, at: alert.raisedAt, db)
            try Self.appendEvent(
                db,
                EventRecord(at: alert.raisedAt, kind: "alert.raised", subject: alert.ruleName, message: alert.message)
            )
            return raised
        }
    }

    public func clearAlert(
        _ id: Int64,
        at: Timestamp,
        value: Double,
        notify channels: [Int64]
    ) async throws -> AlertRecord {
        try await write { db in
            guard let alert = try Self.fetchAlert(id, db) else {
                throw StoreError(code: .notFound, message: "alert \(id) does not exist")
            }
            guard alert.isOpen else { return alert }
            try db.execute(
                sql: "UPDATE alerts SET cleared_at = ?, cleared_value = ? WHERE id = ?",
                arguments: [at.unixNanos, value, id]
            )
            try Self.queue(.cleared, of: id, to: channels, at: at, db)
            try Self.appendEvent(
                db,
                EventRecord(
                    at: at,
                    kind: "alert.cleared",
                    subject: alert.ruleName,
                    message: alert.clearedMessage(value: value)
                )
            )
            var cleared = alert
            cleared.clearedAt = at
            cleared.clearedValue = value
            return cleared
        }
    }

    public func acknowledgeAlert(_ id: Int64, by user: String, at: Timestamp) async throws -> AlertRecord {
        try await write { db in
            try db.execute(
                sql:
                    "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
                arguments: [user, at.unixNanos, id]
            )
            guard let alert = try Self.fetchAlert(id, db) else {
                throw StoreError(code: .notFound, message: "alert \(id) does not exist")
            }
            if db.changesCount == 1 {
                try Self.appendEvent(
                    db,
                    EventRecord(
                        at: at,
                        kind: "alert.acknowledged",
                        subject: alert.ruleName,
                        message: "alert \(id) acknowledged by \(user)"
                    )
                )
            }
            return alert
        }
    }

    public func alert(_ id: Int64) async throws -> AlertRecord? {
        try await read { db in try Self.fetchAlert(id, db) }
    }

    public func alerts(_ query: AlertQuery) async throws -> [AlertRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM alerts WHERE (? = 0 OR cleared_at IS NULL) AND (? IS NULL OR test_id = ?)
                    ORDER BY id DESC LIMIT ?
                    """,
                arguments: [query.openOnly, query.test?.rawValue, query.test?.rawValue, max(1, min(query.limit, 1000))]
            ).map(Self.alertRecord)
        }
    }

    public func createSilence(_ silence: SilenceRecord) async throws -> SilenceRecord {
        try silence.validate()
        return try await write { db in
            let m = silence.matcher
            try db.execute(
                sql: """
                    INSERT INTO alert_silences (rule_name, test_id, agent_name, until_at, reason, created_by, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    m.rule, m.test, m.agent, m.untilUnixNanos, silence.reason, silence.createdBy,
                    silence.createdAt.unixNanos,
                ]
            )
            var stored = silence
            stored.id = db.lastInsertedRowID
            try Self.appendEvent(
                db,
                EventRecord(
                    at: silence.createdAt,
                    kind: "alert.silenced",
                    subject: silence.createdBy,
                    message: silence.summary
                )
            )
            return stored
        }
    }

    public func silences(activeAt now: Timestamp?) async throws -> [SilenceRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM alert_silences WHERE ? IS NULL OR until_at > ? ORDER BY id DESC",
                arguments: [now?.unixNanos, now?.unixNanos]
            ).map { row in
                SilenceRecord(
                    id: row["id"],
                    matcher: AlertSilence(
                        rule: row["rule_name"],
                        test: row["test_id"],
                        agent: row["agent_name"],
                        untilUnixNanos: row["until_at"]
                    ),
                    reason: row["reason"],
                    createdBy: row["created_by"],
                    createdAt: Timestamp(unixNanos: row["created_at"])
                )
            }
        }
    }

    public func deleteSilence(_ id: Int64) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM alert_silences WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else {
                throw StoreError(code: .notFound, message: "silence \(id) does not exist")
            }
        }
    }

    public func dueNotifications(now: Timestamp, limit: Int) async throws -> [NotificationRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM alert_notifications WHERE state = 'pending' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at, id LIMIT ?
                    """,
                arguments: [now.unixNanos, max(1, min(limit, 1000))]
            ).map(Self.notificationRecord)
        }
    }

    public func recordDelivery(_ id: Int64, outcome: DeliveryOutcome) async throws {
        try await write { db in
            switch outcome {
            case .delivered(let at):
                try db.execute(
                    sql: """
                        UPDATE alert_notifications SET state = 'delivered', attempts = attempts + 1, delivered_at = ?,
                            last_error = '' WHERE id = ? AND state = 'pending'
                        """,
                    arguments: [at.unixNanos, id]
                )
            case .retry(let next, let error):
                try db.execute(
                    sql: """
                        UPDATE alert_notifications SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?
                        WHERE id = ? AND state = 'pending'
                        """,
                    arguments: [next.unixNanos, error, id]
                )
            case .failed(let error):
                try db.execute(
                    sql: """
                        UPDATE alert_notifications SET state = 'failed', attempts = attempts + 1, last_error = ?
                        WHERE id = ? AND state = 'pending'
                        """,
                    arguments: [error, id]
                )
            }
            guard db.changesCount == 1 else {
                throw StoreError(
                    code: .notFound,
                    message: "notification \(id) is not pending (delivered, failed or gone)"
                )
            }
        }
    }

    public func notifications(alert: Int64) async throws -> [NotificationRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM alert_notifications WHERE alert_id = ? ORDER BY id",
                arguments: [alert]
            )
            .map(Self.notificationRecord)
        }
    }

    // MARK: - Rows

    private static func queue(
        _ event: NotificationRecord.Event,
        of alert: Int64,
        to channels: [Int64],
        at: Timestamp,
        _ db: Database
    ) throws {
        for channel in channels {
            guard
                let name = try String.fetchOne(
                    db,
                    sql: "SELECT name FROM alert_channels WHERE id = ?",
                    arguments: [channel]
                )
            else { continue }  // deleted since the rule was read: nobody to tell
            try db.execute(
                sql: """
                    INSERT INTO alert_notifications (alert_id, channel_id, channel_name, event, state, next_attempt_at)
                    VALUES (?, ?, ?, ?, 'pending', ?)
                    """,
                arguments: [alert, channel, name, event.rawValue, at.unixNanos]
            )
        }
    }

    private static func requireChannels(_ names: [String], _ db: Database) throws {
        for name in names
        where try Int64.fetchOne(db, sql: "SELECT id FROM alert_channels WHERE name = ?", arguments: [name]) == nil {
            throw StoreError(code: .invalidInput, message: "no notification channel named \(name): add it first")
        }
    }

    private static func fetchAlert(_ id: Int64, _ db: Database) throws -> AlertRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE id = ?", arguments: [id]).map(alertRecord)
    }

    static func ruleRecord(_ row: Row) throws -> AlertRuleRecord {
        AlertRuleRecord(
            id: row["id"],
            spec: try StoredJSON.decode(AlertRuleSpec.self, from: row["spec_json"]),
            createdAt: Timestamp(unixNanos: row["created_at"]),
            updatedAt: Timestamp(unixNanos: row["updated_at"])
        )
    }

    static func alertRecord(_ row: Row) throws -> AlertRecord {
        let metric: String = row["metric"]
        let severity: String = row["severity"]
        let test: Int64? = row["test_id"]
        let agent: String = row["agent_name"]
        let cleared: Int64? = row["cleared_at"]
        let acknowledged: Int64? = row["acknowledged_at"]
        guard let metric = AlertMetric(rawValue: metric), let severity = AlertSeverity(rawValue: severity) else {
            throw StoreError(code: .corrupt, message: "alert \(row["id"] as Int64) has an unknown metric or severity")
        }
        return AlertRecord(
            id: row["id"],
            ruleID: row["rule_id"],
            ruleName: row["rule_name"],
            metric: metric,
            severity: severity,
            test: test.map(TestID.init),
            agent: AgentName(agent),
            raisedAt: Timestamp(unixNanos: row["raised_at"]),
            raisedValue: row["raised_value"],
            clearedAt: cleared.map(Timestamp.init(unixNanos:)),
            clearedValue: row["cleared_value"],
            message: row["message"],
            acknowledgedBy: row["acknowledged_by"],
            acknowledgedAt: acknowledged.map(Timestamp.init(unixNanos:)),
            silenced: row["silenced"]
        )
    }

    static func notificationRecord(_ row: Row) throws -> NotificationRecord {
        let event: String = row["event"]
        let state: String = row["state"]
        let delivered: Int64? = row["delivered_at"]
        guard let event = NotificationRecord.Event(rawValue: event),
            let state = NotificationRecord.State(rawValue: state)
        else {
            throw StoreError(
                code: .corrupt,
                message: "notification \(row["id"] as Int64) has an unknown event or state"
            )
        }
        return NotificationRecord(
            id: row["id"],
            alertID: row["alert_id"],
            channelID: row["channel_id"],
            channelName: row["channel_name"],
            event: event,
            state: state,
            attempts: row["attempts"],
            nextAttemptAt: Timestamp(unixNanos: row["next_attempt_at"]),
            deliveredAt: delivered.map(Timestamp.init(unixNanos:)),
            lastError: row["last_error"]
        )
    }
}
