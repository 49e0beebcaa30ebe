import Foundation

/// What an alert rule watches.
public enum AlertMetric: String, Sendable, Hashable, Codable, CaseIterable {
    /// Each run's headline time in ms (RTT, connect, query or total time, by probe kind).
    case latency
    /// Each run's packet loss in percent (icmp, udp).
    case loss
    /// Each run's jitter in ms.
    case jitter
    /// 1 for a run that failed or timed out, 0 for one that succeeded: "n of the last m runs failed".
    case failure
    /// How far each run's headline is from its seasonal baseline, in robust σ (the anomaly state).
    case baselineDeviation = "baseline_deviation"
    /// Each voice run's E-model MOS (bad when below).
    case mos
    /// The test's health score, 0–100, over the last hour; evaluated once a minute, not per run.
    case healthScore = "health_score"

    /// Whether each stored run gives a value (else the rule is evaluated on a timer).
    public var perRun: Bool { self != .healthScore }

    public var unit: String {
        switch self {
        case .latency, .jitter: "ms"
        case .loss: "%"
        case .failure: "failed"
        case .baselineDeviation: "σ"
        case .mos: "MOS"
        case .healthScore: "score"
        }
    }
}

public enum AlertSeverity: String, Sendable, Hashable, Codable, CaseIterable {
    case warning, critical
}

/// An alert rule as an operator writes it: a metric, a condition with hysteresis, and a scope.
public struct AlertRuleSpec: Sendable, Hashable, Codable {
    public var name: String
    public var metric: AlertMetric
    public var condition: AlertCondition
    /// The test watched; nil watches every active test (swarm-wide).
    public var test: TestID?
    /// The agent watched; nil watches every agent that runs the test.
    public var agent: AgentName?
    public var severity: AlertSeverity
    /// The notification channels (by name) told when an alert of this rule raises and clears.
    public var channels: [String]
    public var enabled: Bool

    public init(
        name: String,
        metric: AlertMetric,
        condition: AlertCondition,
        test: TestID? = nil,
        agent: AgentName? = nil,
        severity: AlertSeverity = .warning,
        channels: [String] = [],
        enabled: Bool = true
    ) {
        self.name = name
        self.metric = metric
        self.condition = condition
        self.test = test
        self.agent = agent
        self.severity = severity
        self.channels = channels
        self.enabled = enabled
    }

    public func validate() throws(SpecError) {
        if name.isEmpty || name.count > 100 || name.contains(where: \.isNewline) {
            throw SpecError("an alert rule needs a name of 1–100 characters on one line")
        }
        if let problem = condition.problem { throw SpecError("alert rule \(name): \(problem)") }
        if metric == .healthScore && agent != nil {
            throw SpecError("alert rule \(name): health_score is per test; leave the agent out")
        }
        if metric == .failure && !(0...1).contains(condition.raise) {
            throw SpecError("alert rule \(name): failure is 0 or 1 per run; raise above 0.5 means 'the run failed'")
        }
        if Set(channels).count != channels.count { throw SpecError("alert rule \(name) names a channel twice") }
    }
}

/// Where notifications go.
public struct AlertChannelSpec: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// An HTTP(S) POST of JSON, signed with HMAC-SHA256 of the body under `secret`.
        case webhook
        /// An e-mail through an SMTP relay (`url` is smtp://host:port).
        case email
    }

    public var name: String
    public var kind: Kind
    /// The webhook's http(s) URL, or the SMTP relay as smtp://host[:port] (port 25 by default).
    public var url: String
    /// E-mail: the From address.
    public var sender: String
    /// E-mail: the To addresses.
    public var recipients: [String]
    /// Webhook: the HMAC-SHA256 key the receiver verifies the signature with. Write-only: no API
    /// returns it.
    public var secret: String

    public init(
        name: String,
        kind: Kind,
        url: String,
        sender: String = "",
        recipients: [String] = [],
        secret: String = ""
    ) {
        self.name = name
        self.kind = kind
        self.url = url
        self.sender = sender
        self.recipients = recipients
        self.secret = secret
    }

    /// The scheme, host and port of `url`, or nil when it is not an absolute URL (or carries a
    /// user name, which a notification URL never should).
    public var endpoint: (scheme: String, host: String, port: Int?)? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            var host = components.host, components.user == nil
        else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (scheme, host, components.port)
    }

    public func validate() throws(SpecError) {
        if name.isEmpty || name.count > 100 || name.contains(where: \.isNewline) {
            throw SpecError("a notification channel needs a name of 1–100 characters on one line")
        }
        let endpoint = self.endpoint
        if let port = endpoint?.port, !(1...65535).contains(port) {
            throw SpecError("channel \(name): port \(port) is out of range")
        }
        switch kind {
        case .webhook:
            guard let endpoint, ["http", "https"].contains(endpoint.scheme), !endpoint.host.isEmpty else {
                throw SpecError("webhook \(name) needs an http:// or https:// URL, got '\(url)'")
            }
            if secret.utf8.count < 16 {
                throw SpecError(
                    "webhook \(name) needs a secret of at least 16 bytes: receivers check the HMAC-SHA256 signature with it"
                )
            }
        case .email:
            guard let endpoint, endpoint.scheme == "smtp", !endpoint.host.isEmpty else {
                throw SpecError("e-mail channel \(name) needs its SMTP relay as smtp://host[:port], got '\(url)'")
            }
            if !Self.isMailbox(sender) { throw SpecError("e-mail channel \(name): '\(sender)' is not an address") }
            if recipients.isEmpty { throw SpecError("e-mail channel \(name) needs at least one recipient") }
            for recipient in recipients where !Self.isMailbox(recipient) {
                throw SpecError("e-mail channel \(name): '\(recipient)' is not an address")
            }
        }
    }

    /// local@domain with no spaces, brackets or line breaks (they would inject SMTP commands or headers).
    static func isMailbox(_ address: String) -> Bool {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && address.count <= 254
            && !address.contains { $0.isWhitespace || $0.isNewline || "<>,;\"".contains($0) }
    }
}
