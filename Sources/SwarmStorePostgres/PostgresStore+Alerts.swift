import Logging
import PostgresNIO
// why: the conformances take SwarmCore alert specs and return SwarmStore records.
public import SwarmCore
public import SwarmStore

// AlertStore: rules, channels, alerts, silences and the notification outbox. An alert and its
// notifications are written in one transaction; raising and clearing also append an event.
extension PostgresStore {
    public func createAlertRule(_ spec: AlertRuleSpec) async throws -> AlertRuleRecord {
        let json = try spec.validatedJSON()
        let now = Timestamp.now()
        let logger = self.logger
        return try await transaction("adding an alert rule") { connection in
            try await Self.requireChannels(spec.channels, connection, logger)
            let rows: [PostgresRow]
            do {
                rows = try await connection.rows(
                    """
                    INSERT INTO alert_rules (name, spec_json, created_at, updated_at)
                    VALUES (\(spec.name), \(json), \(now.unixNanos), \(now.unixNanos)) RETURNING id
                    """,
                    logger
                )
            } catch  where Self.isUniqueViolation(error) {
                throw StoreError(code: .conflict, message: "an alert rule named \(spec.name) exists already")
            }
            guard let id = try rows.first?.decode(Int64.self) else {
                throw StoreError(code: .corrupt, message: "adding an alert rule returned no id")
            }
            try await Self.appendEvent(
                connection,
                EventRecord(kind: "alert_rule.created", subject: spec.name, message: spec.summary),
                logger
            )
            return AlertRuleRecord(id: id, spec: spec, createdAt: now, updatedAt: now)
        }
    }

    public func updateAlertRule(_ id: Int64, spec: AlertRuleSpec) async throws -> AlertRuleRecord {
        let json = try spec.validatedJSON()
        let now = Timestamp.now()
        let logger = self.logger
        try await transaction("updating an alert rule") { connection in
            try await Self.requireChannels(spec.channels, connection, logger)
            let updated: Int
            do {
                updated = try await connection.run(
                    """
                    UPDATE alert_rules SET name = \(spec.name), spec_json = \(json), updated_at = \(now.unixNanos)
                    WHERE id = \(id) RETURNING 1
                    """,
                    logger
                )
            } catch  where Self.isUniqueViolation(error) {
                throw StoreError(code: .conflict, message: "an alert rule named \(spec.name) exists already")
            }
            guard updated == 1 else { throw StoreError(code: .notFound, message: "alert rule \(id) does not exist") }
            try await Self.appendEvent(
                connection,
                EventRecord(kind: "alert_rule.updated", subject: spec.name, message: spec.summary),
                logger
            )
        }
        guard let rule = try await alertRule(id) else {
            throw StoreError(code: .notFound, message: "alert rule \(id) vanished while it was updated")
        }
        return rule
    }

    public func alertRules() async throws -> [AlertRuleRecord] {
        let logger = self.logger
        return try await read("reading alert rules") { connection in
            try await connection.rows(
                "SELECT id, spec_json, created_at, updated_at FROM alert_rules ORDER BY name",
                logger
            ).map(Self.ruleRecord)
        }
    }

    public func alertRule(_ id: Int64) async throws -> AlertRuleRecord? {
        let logger = self.logger
        return try await read("reading an alert rule") { connection in
            try await connection.rows(
                "SELECT id, spec_json, created_at, updated_at FROM alert_rules WHERE id = \(id)",
                logger
            ).first.map(Self.ruleRecord)
        }
    }

    public func deleteAlertRule(_ id: Int64) async throws {
        let now = Timestamp.now()
        let logger = self.logger
        try await transaction("deleting an alert rule") { connection in
            guard
                let name = try await connection.rows("SELECT name FROM alert_rules WHERE id = \(id) FOR UPDATE", logger)
                    .first?.decode(String.self)
            else { throw StoreError(code: .notFound, message: "alert rule \(id) does not exist") }
            let cleared = try await connection.run(
                "UPDATE alerts SET cleared_at = \(now.unixNanos) WHERE rule_id = \(id) AND cleared_at IS NULL RETURNING 1",
                logger
            )
            try await connection.run("DELETE FROM alert_rules WHERE id = \(id)", logger)
            try await Self.appendEvent(
                connection,
                EventRecord(
                    kind: "alert_rule.deleted",
                    subject: name,
                    message: "alert rule \(name) deleted; \(cleared) open alert(s) of it cleared, its history kept"
                ),
                logger
            )
        }
    }

    public func createAlertChannel(_ spec: AlertChannelSpec) async throws -> AlertChannelRecord {
        do { try spec.validate() } catch { throw StoreError(code: .invalidInput, message: error.message) }
        let json = try StoredJSON.encode(spec)
        let now = Timestamp.now()
        let logger = self.logger
        return try await transaction("adding a notification channel") { connection in
            let rows: [PostgresRow]
            do {
                rows = try await connection.rows(
                    """
                    INSERT INTO alert_channels (name, spec_json, created_at) VALUES (\(spec.name), \(json), \(now.unixNanos))
                    RETURNING id
                    """,
                    logger
                )
            } catch  where Self.isUniqueViolation(error) {
                throw StoreError(code: .conflict, message: "a notification channel named \(spec.name) exists already")
            }
            guard let id = try rows.first?.decode(Int64.self) else {
                throw StoreError(code: .corrupt, message: "adding a notification channel returned no id")
            }
            try await Self.appendEvent(
                connection,
                EventRecord(
                    kind: "alert_channel.created",
                    subject: spec.name,
                    message: "\(spec.kind.rawValue) channel \(spec.name) added"
                ),
                logger
            )
            return AlertChannelRecord(id: id, spec: spec, createdAt: now)
        }
    }

    public func alertChannels() async throws -> [AlertChannelRecord] {
        let logger = self.logger
        return try await read("reading notification channels") { connection in
            try await connection.rows("SELECT id, spec_json, created_at FROM alert_channels ORDER BY name", logger)
                .map { row in
                    let (id, json, created) = try row.decode((Int64, String, Int64).self)
                    return AlertChannelRecord(
                        id: id,
                        spec: try StoredJSON.decode(AlertChannelSpec.self, from: json),
                        createdAt: Timestamp(unixNanos: created)
                    )
                }
        }
    }

    public func deleteAlertChannel(_ id: Int64) async throws {
        let logger = self.logger
        try await transaction("deleting a notification channel") { connection in
            guard
                let name = try await connection.rows(
                    "SELECT name FROM alert_channels WHERE id = \(id) FOR UPDATE",
                    logger
                )
                .first?.decode(String.self)
            else { throw StoreError(code: .notFound, message: "notification channel \(id) does not exist") }
            // Lock the rules so none starts naming the channel while it goes.
            let rules = try await connection.rows(
                "SELECT id, spec_json, created_at, updated_at FROM alert_rules FOR UPDATE",
                logger
            ).map(Self.ruleRecord)
            if let user = rules.first(where: { $0.spec.channels.contains(name) }) {
                throw StoreError(
                    code: .conflict,
                    message: "alert rule \(user.spec.name) sends to channel \(name): change that rule first"
                )
            }
            // A schedule being added holds the channel row FOR SHARE: it is committed and seen here.
            if let schedule = try await connection.rows(
                "SELECT name FROM report_schedules WHERE channel_name = \(name) ORDER BY name LIMIT 1",
                logger
            ).first?.decode(String.self) {
                throw StoreError(
                    code: .conflict,
                    message: "report schedule \(schedule) mails through channel \(name): delete that schedule first"
                )
            }
            try await connection.run("DELETE FROM alert_channels WHERE id = \(id)", logger)
            try await Self.appendEvent(
                connection,
                EventRecord(kind: "alert_channel.deleted", subject: name, message: "channel \(name) removed"),
                logger
            )
        }
    }

    public func raiseAlert(_ alert: AlertRecord, notify channels: [Int64]) async throws -> AlertRecord {
        let logger = self.logger
        return try await transaction("raising an alert") { connection in
            let rows: [PostgresRow]
            do {
                rows = try await connection.rows(
                    """
                    INSERT INTO alerts (rule_id, rule_name, metric, severity, test_id, agent_name, raised_at,
                        raised_value, message, silenced)
                    VALUES (\(alert.ruleID), \(alert.ruleName), \(alert.metric.rawValue), \(alert.severity.rawValue),
                        \(alert.test?.rawValue), \(alert.agent?.rawValue ?? ""), \(alert.raisedAt.unixNanos),
                        \(alert.raisedValue), \(alert.message), \(alert.silenced))
                    RETURNING id
                    """,
                    logger
                )
            } catch  where Self.isUniqueViolation(error) {
                throw StoreError(
                    code: .conflict,
                    message: "rule \(alert.ruleName) already has an open alert for this scope"
                )
            }
            guard let id = try rows.first?.decode(Int64.self) else {
                throw StoreError(code: .corrupt, message: "raising an alert returned no id")
            }
            var raised = alert
            raised.id = id
            try await Self.queue(.raised, of: id, to: channels, at: alert.raisedAt, connection, logger)
            try await Self.appendEvent(
                connection,
                EventRecord(at: alert.raisedAt, kind: "alert.raised", subject: alert.ruleName, message: alert.message),
                logger
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
        let logger = self.logger
        return try await transaction("clearing an alert") { connection in
            guard let alert = try await Self.fetchAlert(id, connection, logger, locking: true) else {
                throw StoreError(code: .notFound, message: "alert \(id) does not exist")
            }
            guard alert.isOpen else { return alert }
            try await connection.run(
                "UPDATE alerts SET cleared_at = \(at.unixNanos), cleared_value = \(value) WHERE id = \(id)",
                logger
            )
            try await Self.queue(.cleared, of: id, to: channels, at: at, connection, logger)
            try await Self.appendEvent(
                connection,
                EventRecord(
                    at: at,
                    kind: "alert.cleared",
                    subject: alert.ruleName,
                    message: alert.clearedMessage(value: value)
                ),
                logger
            )
            var cleared = alert
            cleared.clearedAt = at
            cleared.clearedValue = value
            return cleared
        }
    }

    public func acknowledgeAlert(_ id: Int64, by user: String, at: Timestamp) async throws -> AlertRecord {
        let logger = self.logger
        return try await transaction("acknowledging an alert") { connection in
            let changed = try await connection.run(
                """
                UPDATE alerts SET acknowledged_by = \(user), acknowledged_at = \(at.unixNanos)
                WHERE id = \(id) AND acknowledged_at IS NULL RETURNING 1
                """,
                logger
            )
            guard let alert = try await Self.fetchAlert(id, connection, logger, locking: false) else {
                throw StoreError(code: .notFound, message: "alert \(id) does not exist")
            }
            if changed == 1 {
                try await Self.appendEvent(
                    connection,
                    EventRecord(
                        at: at,
                        kind: "alert.acknowledged",
                        subject: alert.ruleName,
                        message: "alert \(id) acknowledged by \(user)"
                    ),
                    logger
                )
            }
            return alert
        }
    }

    public func alert(_ id: Int64) async throws -> AlertRecord? {
        let logger = self.logger
        return try await read("reading an alert") { connection in
            try await Self.fetchAlert(id, connection, logger, locking: false)
        }
    }

    public func alerts(_ query: AlertQuery) async throws -> [AlertRecord] {
        let logger = self.logger
        let limit = max(1, min(query.limit, 1000))
        return try await read("reading alerts") { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: Self.alertColumns) FROM alerts
                WHERE (NOT \(query.openOnly) OR cleared_at IS NULL)
                    AND (\(query.test?.rawValue)::bigint IS NULL OR test_id = \(query.test?.rawValue))
                ORDER BY id DESC LIMIT \(limit)
                """,
                logger
            ).map(Self.alertRecord)
        }
    }

    public func createSilence(_ silence: SilenceRecord) async throws -> SilenceRecord {
        try silence.validate()
        let logger = self.logger
        let m = silence.matcher
        return try await transaction("adding a silence") { connection in
            let rows = try await connection.rows(
                """
                INSERT INTO alert_silences (rule_name, test_id, agent_name, until_at, reason, created_by, created_at)
                VALUES (\(m.rule), \(m.test), \(m.agent), \(m.untilUnixNanos), \(silence.reason), \(silence.createdBy),
                    \(silence.createdAt.unixNanos))
                RETURNING id
                """,
                logger
            )
            guard let id = try rows.first?.decode(Int64.self) else {
                throw StoreError(code: .corrupt, message: "adding a silence returned no id")
            }
            try await Self.appendEvent(
                connection,
                EventRecord(
                    at: silence.createdAt,
                    kind: "alert.silenced",
                    subject: silence.createdBy,
                    message: silence.summary
                ),
                logger
            )
            var stored = silence
            stored.id = id
            return stored
        }
    }

    public func silences(activeAt now: Timestamp?) async throws -> [SilenceRecord] {
        let logger = self.logger
        return try await read("reading silences") { connection in
            try await connection.rows(
                """
                SELECT id, rule_name, test_id, agent_name, until_at, reason, created_by, created_at FROM alert_silences
                WHERE \(now?.unixNanos)::bigint IS NULL OR until_at > \(now?.unixNanos) ORDER BY id DESC
                """,
                logger
            ).map { row in
                let (id, rule, test, agent, until, reason, by, created) = try row.decode(
                    (Int64, String, Int64?, String, Int64, String, String, Int64).self
                )
                return SilenceRecord(
                    id: id,
                    matcher: AlertSilence(rule: rule, test: test, agent: agent, untilUnixNanos: until),
                    reason: reason,
                    createdBy: by,
                    createdAt: Timestamp(unixNanos: created)
                )
            }
        }
    }

    public func deleteSilence(_ id: Int64) async throws {
        let deleted = try await execute("deleting a silence", "DELETE FROM alert_silences WHERE id = \(id) RETURNING 1")
        guard deleted == 1 else { throw StoreError(code: .notFound, message: "silence \(id) does not exist") }
    }

    public func dueNotifications(now: Timestamp, limit: Int) async throws -> [NotificationRecord] {
        let logger = self.logger
        let limit = max(1, min(limit, 1000))
        return try await read("reading due notifications") { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: Self.notificationColumns) FROM alert_notifications
                WHERE state = 'pending' AND next_attempt_at <= \(now.unixNanos)
                ORDER BY next_attempt_at, id LIMIT \(limit)
                """,
                logger
            ).map(Self.notificationRecord)
        }
    }

    public func recordDelivery(_ id: Int64, outcome: DeliveryOutcome) async throws {
        let query: PostgresQuery
        switch outcome {
        case .delivered(let at):
            query = """
                UPDATE alert_notifications SET state = 'delivered', attempts = attempts + 1, delivered_at = \(at.unixNanos),
                    last_error = '' WHERE id = \(id) AND state = 'pending' RETURNING 1
                """
        case .retry(let next, let error):
            query = """
                UPDATE alert_notifications SET attempts = attempts + 1, next_attempt_at = \(next.unixNanos),
                    last_error = \(error) WHERE id = \(id) AND state = 'pending' RETURNING 1
                """
        case .failed(let error):
            query = """
                UPDATE alert_notifications SET state = 'failed', attempts = attempts + 1, last_error = \(error)
                WHERE id = \(id) AND state = 'pending' RETURNING 1
                """
        }
        guard try await execute("recording a delivery", query) == 1 else {
            throw StoreError(code: .notFound, message: "notification \(id) is not pending (delivered, failed or gone)")
        }
    }

    public func notifications(alert: Int64) async throws -> [NotificationRecord] {
        let logger = self.logger
        return try await read("reading notifications") { connection in
            try await connection.rows(
                """
                SELECT \(unescaped: Self.notificationColumns) FROM alert_notifications WHERE alert_id = \(alert) ORDER BY id
                """,
                logger
            ).map(Self.notificationRecord)
        }
    }

    // MARK: - Rows

    private static func queue(
        _ event: NotificationRecord.Event,
        of alert: Int64,
        to channels: [Int64],
        at: Timestamp,
        _ connection: PostgresConnection,
        _ logger: Logger
    ) async throws {
        for channel in channels {
            // A channel deleted since the rule was read has nobody to tell: the SELECT inserts nothing.
            try await connection.run(
                """
                INSERT INTO alert_notifications (alert_id, channel_id, channel_name, event, state, next_attempt_at)
                SELECT \(alert), id, name, \(event.rawValue), 'pending', \(at.unixNanos) FROM alert_channels
                WHERE id = \(channel)
                """,
                logger
            )
        }
    }

    private static func requireChannels(
        _ names: [String],
        _ connection: PostgresConnection,
        _ logger: Logger
    )
        async throws
    {
        for name in names {
            // FOR SHARE: the channel cannot be deleted before this rule commits.
            let found = try await connection.run("SELECT 1 FROM alert_channels WHERE name = \(name) FOR SHARE", logger)
            if found == 0 {
                throw StoreError(code: .invalidInput, message: "no notification channel named \(name): add it first")
            }
        }
    }
}
