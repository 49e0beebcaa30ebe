import ArgumentParser
import Foundation
import SwarmCore
import SwarmStore

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Alerts and their history, acknowledgements, silences, rules and notification channels.",
        subcommands: [
            List.self, Ack.self, Silence.self, Unsilence.self, Silences.self, Rules.self, AddRule.self,
            DeleteRule.self, Channels.self, AddChannel.self, DeleteChannel.self,
        ]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Alerts, newest first.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Flag(help: "Only alerts that have not cleared.") var open = false
        @Option(help: "Only this test's alerts.") var test: Int64?
        @Option(help: "At most this many.") var limit = 50

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            let alerts = try await backend.alerts(AlertQuery(openOnly: open, test: test.map(TestID.init), limit: limit))
            if alerts.isEmpty { print(open ? "no open alerts" : "no alerts") }
            for alert in alerts { print(Self.line(alert)) }
        }

        static func line(_ a: AlertRecord) -> String {
            var state = a.isOpen ? "OPEN" : "cleared \(a.clearedAt?.iso8601 ?? "")"
            if let by = a.acknowledgedBy { state += ", acknowledged by \(by)" }
            if a.silenced { state += ", silenced" }
            return "#\(a.id) \(a.severity.rawValue) \(a.raisedAt.iso8601) [\(state)] \(a.message)"
        }
    }

    struct Ack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Acknowledge an alert (someone is on it).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Alert id (see 'streamswarm alerts list').") var id: Int64
        @Option(help: "Who acknowledges (defaults to $USER).") var by: String?

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            let who = by ?? ProcessInfo.processInfo.environment["USER"] ?? "cli"
            let alert = try await backend.acknowledgeAlert(id, by: who, at: .now())
            print(List.line(alert))
        }
    }

    struct Silence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hold back notifications of matching alerts for a while (they still raise and clear)."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "Only this rule's alerts (by name).") var rule: String = ""
        @Option(help: "Only this test's alerts.") var test: Int64?
        @Option(help: "Only this agent's alerts.") var agent: String = ""
        @Option(name: .customLong("for"), help: "How long, e.g. 30m, 2h, 1d (at most 90d).") var duration: String
        @Option(help: "Why (shown with the silence).") var reason: String
        @Option(help: "Who silences (defaults to $USER).") var by: String?

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            let length = try parseDuration(duration, option: "--for")
            guard length > .zero, length <= .seconds(90 * 86_400) else {
                throw ValidationError("--for must be between 1s and 90d")
            }
            if !agent.isEmpty, AgentName(agent) == nil {
                throw ValidationError("--agent \(agent) is not an agent name")
            }
            let now = Timestamp.now()
            let silence = try await backend.createSilence(
                SilenceRecord(
                    matcher: AlertSilence(
                        rule: rule,
                        test: test,
                        agent: agent,
                        untilUnixNanos: (now + length).unixNanos
                    ),
                    reason: reason,
                    createdBy: by ?? ProcessInfo.processInfo.environment["USER"] ?? "cli",
                    createdAt: now
                )
            )
            print("silence #\(silence.id): \(silence.summary)")
        }
    }

    struct Unsilence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Silence id (see 'streamswarm alerts silences').") var id: Int64

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            try await backend.deleteSilence(id)
            print("silence #\(id) ended")
        }
    }

    struct Silences: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Active silences (all with --all).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Flag(help: "Ended silences too.") var all = false

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            let silences = try await backend.silences(activeAt: all ? nil : .now())
            if silences.isEmpty { print("no silences") }
            for s in silences { print("#\(s.id) by \(s.createdBy) at \(s.createdAt.iso8601): \(s.summary)") }
        }
    }

    struct Rules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Alert rules.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            let rules = try await backend.alertRules()
            if rules.isEmpty { print("no alert rules (add one with 'streamswarm alerts add-rule')") }
            for rule in rules {
                let to = rule.spec.channels.isEmpty ? "" : " → \(rule.spec.channels.joined(separator: ", "))"
                print("#\(rule.id) \(rule.spec.name): \(rule.spec.summary)\(to)")
            }
        }
    }

    struct AddRule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-rule",
            abstract:
                "Add a rule: raise when n of the last m values are beyond --raise, clear when n are beyond --clear."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "A name, unique among rules.") var name: String
        @Option(help: "\(AlertMetric.allCases.map(\.rawValue).joined(separator: ", ")).") var metric: String
        @Option(help: "above (latency, loss) or below (mos, health_score).") var comparison: String = "above"
        @Option(help: "The level that raises.") var raise: Double
        @Option(help: "The level that clears (hysteresis: not beyond --raise).") var clear: Double
        @Option(help: "Bad values among the last m that raise.") var n = 3
        @Option(help: "Values looked at.") var m = 5
        @Option(help: "Only this test (else every active test).") var test: Int64?
        @Option(help: "Only this agent (else every agent).") var agent: String?
        @Option(help: "warning or critical.") var severity: String = "warning"
        @Option(help: "A notification channel to tell (repeatable).") var channel: [String] = []

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            guard let metric = AlertMetric(rawValue: metric) else {
                throw ValidationError(
                    "--metric must be one of \(AlertMetric.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            guard let comparison = AlertCondition.Comparison(rawValue: comparison) else {
                throw ValidationError("--comparison must be above or below")
            }
            guard let severity = AlertSeverity(rawValue: severity) else {
                throw ValidationError("--severity must be warning or critical")
            }
            var agentName: AgentName?
            if let agent {
                guard let parsed = AgentName(agent) else {
                    throw ValidationError("--agent \(agent) is not an agent name")
                }
                agentName = parsed
            }
            let rule = try await backend.createAlertRule(
                AlertRuleSpec(
                    name: name,
                    metric: metric,
                    condition: AlertCondition(comparison: comparison, raise: raise, clear: clear, n: n, m: m),
                    test: test.map(TestID.init),
                    agent: agentName,
                    severity: severity,
                    channels: channel
                )
            )
            print("rule #\(rule.id) \(rule.spec.name): \(rule.spec.summary)")
        }
    }

    struct DeleteRule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-rule",
            abstract: "Delete a rule (its alerts stay as history)."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Rule id (see 'streamswarm alerts rules').") var id: Int64

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            try await backend.deleteAlertRule(id)
            print("rule #\(id) deleted")
        }
    }

    struct Channels: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Notification channels (secrets are not shown).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            let channels = try await backend.alertChannels()
            if channels.isEmpty { print("no channels (add one with 'streamswarm alerts add-channel')") }
            for c in channels {
                let to =
                    c.spec.kind == .email
                    ? " from \(c.spec.sender) to \(c.spec.recipients.joined(separator: ", "))" : ""
                print("#\(c.id) \(c.spec.name): \(c.spec.kind.rawValue) \(c.spec.url)\(to)")
            }
        }
    }

    struct AddChannel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-channel",
            abstract:
                "Add a webhook (--url https://…, signing secret on stdin) or e-mail channel (--url smtp://host:port)."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "A name, unique among channels.") var name: String
        @Option(help: "webhook or email.") var kind: String
        @Option(help: "The webhook URL, or the SMTP relay as smtp://host[:port].") var url: String
        @Option(help: "E-mail: the From address.") var from: String = ""
        @Option(help: "E-mail: a recipient (repeatable).") var to: [String] = []
        @Flag(
            name: .customLong("secret-stdin"),
            help: "Webhook: read the signing secret (16 bytes or more) from the first line of standard input."
        )
        var secretStdin = false

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            guard let kind = AlertChannelSpec.Kind(rawValue: kind) else {
                throw ValidationError("--kind must be webhook or email")
            }
            var secret = ""
            if kind == .webhook {
                guard secretStdin, let line = readLine(strippingNewline: true) else {
                    throw ValidationError("a webhook needs its signing secret: pipe it in with --secret-stdin")
                }
                secret = line
            }
            let channel = try await backend.createAlertChannel(
                AlertChannelSpec(name: name, kind: kind, url: url, sender: from, recipients: to, secret: secret)
            )
            print("channel #\(channel.id) \(channel.spec.name): \(channel.spec.kind.rawValue) \(channel.spec.url)")
        }
    }

    struct DeleteChannel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-channel", abstract: "Delete a channel.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Channel id (see 'streamswarm alerts channels').") var id: Int64

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.alerts"))
            try await backend.deleteAlertChannel(id)
            print("channel #\(id) deleted")
        }
    }
}
