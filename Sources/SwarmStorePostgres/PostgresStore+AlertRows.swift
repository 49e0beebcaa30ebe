import Logging
import PostgresNIO
import SwarmCore
import SwarmStore

// The alerting tables' columns and their decoding into records.
extension PostgresStore {
    static let alertColumns = """
        id, rule_id, rule_name, metric, severity, test_id, agent_name, raised_at, raised_value, cleared_at,
        cleared_value, message, acknowledged_by, acknowledged_at, silenced
        """

    static let notificationColumns = """
        id, alert_id, channel_id, channel_name, event, state, attempts, next_attempt_at, delivered_at, last_error
        """

    static func fetchAlert(
        _ id: Int64,
        _ connection: PostgresConnection,
        _ logger: Logger,
        locking: Bool
    ) async throws -> AlertRecord? {
        try await connection.rows(
            "SELECT \(unescaped: alertColumns) FROM alerts WHERE id = \(id) \(unescaped: locking ? "FOR UPDATE" : "")",
            logger
        ).first.map(alertRecord)
    }

    static func ruleRecord(_ row: PostgresRow) throws -> AlertRuleRecord {
        let (id, json, created, updated) = try row.decode((Int64, String, Int64, Int64).self)
        return AlertRuleRecord(
            id: id,
            spec: try StoredJSON.decode(AlertRuleSpec.self, from: json),
            createdAt: Timestamp(unixNanos: created),
            updatedAt: Timestamp(unixNanos: updated)
        )
    }

    static func alertRecord(_ row: PostgresRow) throws -> AlertRecord {
        let (
            id, ruleID, ruleName, metric, severity, test, agent, raisedAt, raisedValue, clearedAt, clearedValue,
            message,
            acknowledgedBy, acknowledgedAt, silenced
        ) = try row.decode(
            (
                Int64, Int64?, String, String, String, Int64?, String, Int64, Double, Int64?, Double?, String, String?,
                Int64?, Bool
            ).self
        )
        guard let metric = AlertMetric(rawValue: metric), let severity = AlertSeverity(rawValue: severity) else {
            throw StoreError(code: .corrupt, message: "alert \(id) has an unknown metric or severity")
        }
        return AlertRecord(
            id: id,
            ruleID: ruleID,
            ruleName: ruleName,
            metric: metric,
            severity: severity,
            test: test.map(TestID.init),
            agent: AgentName(agent),
            raisedAt: Timestamp(unixNanos: raisedAt),
            raisedValue: raisedValue,
            clearedAt: clearedAt.map(Timestamp.init(unixNanos:)),
            clearedValue: clearedValue,
            message: message,
            acknowledgedBy: acknowledgedBy,
            acknowledgedAt: acknowledgedAt.map(Timestamp.init(unixNanos:)),
            silenced: silenced
        )
    }

    static func notificationRecord(_ row: PostgresRow) throws -> NotificationRecord {
        let (id, alertID, channelID, channelName, event, state, attempts, next, delivered, lastError) = try row.decode(
            (Int64, Int64, Int64?, String, String, String, Int, Int64, Int64?, String).self
        )
        guard let event = NotificationRecord.Event(rawValue: event),
            let state = NotificationRecord.State(rawValue: state)
        else { throw StoreError(code: .corrupt, message: "notification \(id) has an unknown event or state") }
        return NotificationRecord(
            id: id,
            alertID: alertID,
            channelID: channelID,
            channelName: channelName,
            event: event,
            state: state,
            attempts: attempts,
            nextAttemptAt: Timestamp(unixNanos: next),
            deliveredAt: delivered.map(Timestamp.init(unixNanos:)),
            lastError: lastError
        )
    }
}
