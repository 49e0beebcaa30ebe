import Foundation
// why: alert records expose SwarmCore types (AlertRuleSpec, TestID, AgentName, Timestamp).
public import SwarmCore

/// A stored alert rule.
public struct AlertRuleRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var spec: AlertRuleSpec
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: Int64, spec: AlertRuleSpec, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.spec = spec
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A stored notification channel. Its secret is held for delivery only; views blank it.
public struct AlertChannelRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var spec: AlertChannelSpec
    public var createdAt: Timestamp

    public init(id: Int64, spec: AlertChannelSpec, createdAt: Timestamp) {
        self.id = id
        self.spec = spec
        self.createdAt = createdAt
    }
}

/// One alert: raised by a rule for a scope, open until it clears. Kept as history afterwards.
public struct AlertRecord: Sendable, Hashable, Codable {
    public var id: Int64
    /// The rule that raised it; nil once that rule was deleted (its name stays).
    public var ruleID: Int64?
    public var ruleName: String
    public var metric: AlertMetric
    public var severity: AlertSeverity
    /// The scope: a test on an agent, a test (health), never neither.
    public var test: TestID?
    public var agent: AgentName?
    public var raisedAt: Timestamp
    /// The value that raised it (the last of the n bad ones).
    public var raisedValue: Double
    public var clearedAt: Timestamp?
    public var clearedValue: Double?
    /// What happened, for people: the rule, the scope, the values and the likeliest cause.
    public var message: String
    public var acknowledgedBy: String?
    public var acknowledgedAt: Timestamp?
    /// A silence covered it when it raised: nobody was notified.
    public var silenced: Bool

    public init(
        id: Int64 = 0,
        ruleID: Int64?,
        ruleName: String,
        metric: AlertMetric,
        severity: AlertSeverity,
        test: TestID?,
        agent: AgentName?,
        raisedAt: Timestamp,
        raisedValue: Double,
        clearedAt: Timestamp? = nil,
        clearedValue: Double? = nil,
        message: String,
        acknowledgedBy: String? = nil,
        acknowledgedAt: Timestamp? = nil,
        silenced: Bool = false
    ) {
        self.id = id
        self.ruleID = ruleID
        self.ruleName = ruleName
        self.metric = metric
        self.severity = severity
        self.test = test
        self.agent = agent
        self.raisedAt = raisedAt
        self.raisedValue = raisedValue
        self.clearedAt = clearedAt
        self.clearedValue = clearedValue
        self.message = message
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgedAt = acknowledgedAt
        self.silenced = silenced
    }

    public var isOpen: Bool { clearedAt == nil }
}

/// Which alerts to list, newest first.
public struct AlertQuery: Sendable, Hashable {
    public var openOnly: Bool
    public var test: TestID?
    public var limit: Int

    public init(openOnly: Bool = false, test: TestID? = nil, limit: Int = 100) {
        self.openOnly = openOnly
        self.test = test
        self.limit = limit
    }
}

/// A stored silence: notifications of matching alerts are not sent until it ends.
public struct SilenceRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var matcher: AlertSilence
    public var reason: String
    public var createdBy: String
    public var createdAt: Timestamp

    public init(id: Int64 = 0, matcher: AlertSilence, reason: String, createdBy: String, createdAt: Timestamp) {
        self.id = id
        self.matcher = matcher
        self.reason = reason
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

/// One notification to deliver: an alert's raise or clear to one channel (an outbox row, written
/// in the same transaction as the alert, so a crash between the two loses neither).
public struct NotificationRecord: Sendable, Hashable, Codable {
    public enum Event: String, Sendable, Hashable, Codable { case raised, cleared }
    public enum State: String, Sendable, Hashable, Codable { case pending, delivered, failed }

    public var id: Int64
    public var alertID: Int64
    public var channelID: Int64?
    public var channelName: String
    public var event: Event
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Timestamp
    public var deliveredAt: Timestamp?
    public var lastError: String

    public init(
        id: Int64,
        alertID: Int64,
        channelID: Int64?,
        channelName: String,
        event: Event,
        state: State,
        attempts: Int,
        nextAttemptAt: Timestamp,
        deliveredAt: Timestamp?,
        lastError: String
    ) {
        self.id = id
        self.alertID = alertID
        self.channelID = channelID
        self.channelName = channelName
        self.event = event
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.deliveredAt = deliveredAt
        self.lastError = lastError
    }
}

/// What became of one delivery attempt.
public enum DeliveryOutcome: Sendable, Hashable {
    case delivered(at: Timestamp)
    /// Failed; try again at `next`.
    case retry(next: Timestamp, error: String)
    /// Failed for the last time.
    case failed(error: String)
}

// What both backends check and write the same way.

extension AlertRuleSpec {
    /// The spec as stored, after validation.
    /// - Throws: ``StoreError`` `.invalidInput` naming what is wrong.
    public func validatedJSON() throws -> String {
        do { try validate() } catch { throw StoreError(code: .invalidInput, message: error.message) }
        return try StoredJSON.encode(self)
    }

    /// One line for the event log: "latency above 100 ms (clear below 80), 3 of 5, test 4, every agent".
    public var summary: String {
        let c = condition
        let opposite = c.comparison == .above ? "below" : "above"
        let scope = "\(test.map { "test \($0)" } ?? "every test"), \(agent.map { "agent \($0)" } ?? "every agent")"
        return "\(metric.rawValue) \(c.comparison.rawValue) \(c.raise) \(metric.unit) (clear \(opposite) \(c.clear)), "
            + "\(c.n) of \(c.m), \(scope), \(severity.rawValue)\(enabled ? "" : ", disabled")"
    }
}

extension AlertRecord {
    /// The scope in words: "test 4 on agent alpha".
    public var scopeDescription: String {
        switch (test, agent) {
        case (let test?, let agent?): "test \(test) on agent \(agent)"
        case (let test?, nil): "test \(test)"
        case (nil, let agent?): "agent \(agent)"
        case (nil, nil): "the swarm"
        }
    }

    public func clearedMessage(value: Double) -> String {
        "\(ruleName) cleared for \(scopeDescription): \(metric.rawValue) back at \(value) \(metric.unit)"
    }
}

extension SilenceRecord {
    /// - Throws: ``StoreError`` `.invalidInput` for a silence that ended before it began or has no reason.
    public func validate() throws {
        if matcher.untilUnixNanos <= createdAt.unixNanos {
            throw StoreError(code: .invalidInput, message: "a silence must end after it is made (give --for 2h)")
        }
        if reason.trimmingCharacters(in: .whitespaces).isEmpty || reason.count > 500 {
            throw StoreError(code: .invalidInput, message: "a silence needs a reason of 1–500 characters (--reason)")
        }
    }

    public var summary: String {
        let m = matcher
        let what = [
            m.rule.isEmpty ? nil : "rule \(m.rule)", m.test.map { "test \($0)" },
            m.agent.isEmpty ? nil : "agent \(m.agent)",
        ].compactMap { $0 }
        return "notifications for \(what.isEmpty ? "every alert" : what.joined(separator: ", ")) silenced until "
            + "\(Timestamp(unixNanos: m.untilUnixNanos)): \(reason)"
    }
}
