/// The alerting core, without storage or delivery: a rule's condition with N-of-M evaluation and
/// hysteresis (separate raise and clear levels), so an alert fires once when a figure stays bad
/// and clears once when it stays good, however noisy it is around one threshold.
public struct AlertCondition: Sendable, Hashable, Codable {
    public enum Comparison: String, Sendable, Hashable, Codable {
        /// Bad when the value is above `raise` (latency, loss); good again below `clear`.
        case above
        /// Bad when the value is below `raise` (MOS, throughput); good again above `clear`.
        case below
    }

    public var comparison: Comparison
    public var raise: Double
    public var clear: Double
    /// Raise when at least `n` of the last `m` values are bad; clear when at least `n` of the last
    /// `m` are good.
    public var n: Int
    public var m: Int

    public init(comparison: Comparison, raise: Double, clear: Double, n: Int = 3, m: Int = 5) {
        self.comparison = comparison
        self.raise = raise
        self.clear = clear
        self.n = n
        self.m = m
    }

    /// Why the condition cannot work, for the operator who wrote it (nil when it is sound).
    public var problem: String? {
        guard raise.isFinite, clear.isFinite else { return "raise and clear must be numbers" }
        guard (1...100).contains(m), (1...m).contains(n) else {
            return "need 1 ≤ n ≤ m ≤ 100 (raise when n of the last m values are bad); got n = \(n), m = \(m)"
        }
        switch comparison {
        case .above where clear > raise:
            return "for 'above', the clear level (\(clear)) must not be above the raise level (\(raise))"
        case .below where clear < raise:
            return "for 'below', the clear level (\(clear)) must not be below the raise level (\(raise))"
        default: return nil
        }
    }

    public func isBad(_ value: Double) -> Bool { comparison == .above ? value > raise : value < raise }
    public func isGood(_ value: Double) -> Bool { comparison == .above ? value < clear : value > clear }
}

/// A silence: notifications for matching alerts are held back until `until`, the alerts themselves
/// still raise and clear (and are recorded). An empty field matches everything.
public struct AlertSilence: Sendable, Hashable, Codable {
    public var rule: String
    public var test: Int64?
    public var agent: String
    public var untilUnixNanos: Int64

    public init(rule: String = "", test: Int64? = nil, agent: String = "", untilUnixNanos: Int64) {
        self.rule = rule
        self.test = test
        self.agent = agent
        self.untilUnixNanos = untilUnixNanos
    }

    public func covers(rule: String, test: Int64?, agent: String, atUnixNanos now: Int64) -> Bool {
        now < untilUnixNanos && (self.rule.isEmpty || self.rule == rule) && (self.test == nil || self.test == test)
            && (self.agent.isEmpty || self.agent == agent)
    }
}
