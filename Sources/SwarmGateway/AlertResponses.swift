import SwarmCore
import SwarmStore

// The JSON shapes of alerting: rules, channels (never their secret), alerts with their
// notifications, silences.

struct AlertRuleDTO: Encodable {
    var id: Int64
    var name: String
    var metric: String
    var unit: String
    var comparison: String
    var raise: Double
    var clear: Double
    var n: Int
    var m: Int
    var test: Int64?
    var agent: String?
    var severity: String
    var channels: [String]
    var enabled: Bool
    var summary: String
    var createdAt: String
    var updatedAt: String

    init(_ rule: AlertRuleRecord) {
        let spec = rule.spec
        id = rule.id
        name = spec.name
        metric = spec.metric.rawValue
        unit = spec.metric.unit
        comparison = spec.condition.comparison.rawValue
        raise = spec.condition.raise
        clear = spec.condition.clear
        n = spec.condition.n
        m = spec.condition.m
        test = spec.test?.rawValue
        agent = spec.agent?.rawValue
        severity = spec.severity.rawValue
        channels = spec.channels
        enabled = spec.enabled
        summary = spec.summary
        createdAt = rule.createdAt.iso8601
        updatedAt = rule.updatedAt.iso8601
    }
}

struct AlertChannelDTO: Encodable {
    var id: Int64
    var name: String
    var kind: String
    var url: String
    var sender: String
    var recipients: [String]
    /// Whether a signing secret is set; the secret itself is never returned.
    var hasSecret: Bool
    var createdAt: String

    init(_ channel: AlertChannelRecord) {
        id = channel.id
        name = channel.spec.name
        kind = channel.spec.kind.rawValue
        url = channel.spec.url
        sender = channel.spec.sender
        recipients = channel.spec.recipients
        hasSecret = !channel.spec.secret.isEmpty
        createdAt = channel.createdAt.iso8601
    }
}

struct NotificationDTO: Encodable {
    var id: Int64
    var channel: String
    var event: String
    var state: String
    var attempts: Int
    var nextAttemptAt: String
    var deliveredAt: String?
    var lastError: String

    init(_ n: NotificationRecord) {
        id = n.id
        channel = n.channelName
        event = n.event.rawValue
        state = n.state.rawValue
        attempts = n.attempts
        nextAttemptAt = n.nextAttemptAt.iso8601
        deliveredAt = n.deliveredAt?.iso8601
        lastError = n.lastError
    }
}

struct AlertDTO: Encodable {
    var id: Int64
    var ruleId: Int64?
    var rule: String
    var metric: String
    var unit: String
    var severity: String
    var test: Int64?
    var agent: String?
    var open: Bool
    var raisedAt: String
    var raisedValue: Double
    var clearedAt: String?
    var clearedValue: Double?
    var message: String
    var acknowledgedBy: String?
    var acknowledgedAt: String?
    var silenced: Bool
    var notifications: [NotificationDTO]?

    init(_ alert: AlertRecord, notifications: [NotificationRecord]? = nil) {
        id = alert.id
        ruleId = alert.ruleID
        rule = alert.ruleName
        metric = alert.metric.rawValue
        unit = alert.metric.unit
        severity = alert.severity.rawValue
        test = alert.test?.rawValue
        agent = alert.agent?.rawValue
        open = alert.isOpen
        raisedAt = alert.raisedAt.iso8601
        raisedValue = alert.raisedValue
        clearedAt = alert.clearedAt?.iso8601
        clearedValue = alert.clearedValue
        message = alert.message
        acknowledgedBy = alert.acknowledgedBy
        acknowledgedAt = alert.acknowledgedAt?.iso8601
        silenced = alert.silenced
        self.notifications = notifications.map { $0.map(NotificationDTO.init) }
    }
}

struct SilenceDTO: Encodable {
    var id: Int64
    var rule: String
    var test: Int64?
    var agent: String
    var until: String
    var reason: String
    var createdBy: String
    var createdAt: String
    var active: Bool

    init(_ silence: SilenceRecord, now: Timestamp) {
        id = silence.id
        rule = silence.matcher.rule
        test = silence.matcher.test
        agent = silence.matcher.agent
        until = Timestamp(unixNanos: silence.matcher.untilUnixNanos).iso8601
        reason = silence.reason
        createdBy = silence.createdBy
        createdAt = silence.createdAt.iso8601
        active = silence.matcher.untilUnixNanos > now.unixNanos
    }
}
