import Foundation
import Logging
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// `streamswarm alerts …` as an operator types it, against a store this process also reads.
@Suite(.timeLimit(.minutes(1))) struct AlertsCLITests {
    @Test("add a channel and a rule, list, acknowledge and silence alerts; bad input says what to fix")
    func alertsCommands() async throws {
        try await withTemporaryDirectory { dir in
            let db = "sqlite:\(dir)/s.sqlite"
            func cli(_ arguments: [String], input: String? = nil) throws -> (Int32, String) {
                try ProductBinary.run(["alerts"] + arguments + ["--db", db], in: dir, input: input)
            }
            var (status, output) = try cli(
                [
                    "add-channel", "--name", "ops", "--kind", "webhook", "--url", "https://hooks.example.net/x",
                    "--secret-stdin",
                ],
                input: "a-secret-of-more-than-16-bytes\n"
            )
            #expect(status == 0 && output.contains("channel #1 ops: webhook"), "\(output)")
            (status, output) = try cli([
                "add-channel", "--name", "nosecret", "--kind", "webhook", "--url", "https://h.example.net",
            ])
            #expect(status != 0 && output.contains("--secret-stdin"), "\(output)")
            (status, output) = try cli(
                [
                    "add-rule", "--name", "slow", "--metric", "latency", "--raise", "100", "--clear", "80", "--n", "2",
                    "--m", "3",
                    "--severity", "critical", "--channel", "ops",
                ]
            )
            #expect(status == 0 && output.contains("rule #1 slow: latency above 100.0 ms"), "\(output)")
            (status, output) = try cli([
                "add-rule", "--name", "bad", "--metric", "latency", "--raise", "100", "--clear", "120",
            ])
            #expect(status != 0 && output.contains("must not be above"), "\(output)")
            (status, output) = try cli([
                "add-rule", "--name", "bad", "--metric", "speed", "--raise", "1", "--clear", "0",
            ])
            #expect(status != 0 && output.contains("--metric must be one of latency"), "\(output)")
            (status, output) = try cli(["channels"])
            #expect(status == 0 && output.contains("#1 ops: webhook") && !output.contains("a-secret"), "\(output)")

            // An alert as the evaluator stores it.
            let store = try SQLiteStore(configuration: .init(path: "\(dir)/s.sqlite"), logger: Logger(label: "test"))
            let rule = try #require(try await store.alertRules().first)
            let alert = try await store.raiseAlert(
                AlertRecord(
                    ruleID: rule.id,
                    ruleName: "slow",
                    metric: .latency,
                    severity: .critical,
                    test: TestID(4),
                    agent: AgentName("edge-1"),
                    raisedAt: .now(),
                    raisedValue: 140,
                    message: "slow: latency 140 ms for test 4 on agent edge-1"
                ),
                notify: []
            )
            (status, output) = try cli(["list", "--open"])
            #expect(status == 0 && output.contains("#\(alert.id) critical") && output.contains("[OPEN]"), "\(output)")
            (status, output) = try cli(["ack", "\(alert.id)", "--by", "dana"])
            #expect(status == 0 && output.contains("acknowledged by dana"), "\(output)")
            (status, output) = try cli(["ack", "999"])
            #expect(status != 0 && output.contains("alert 999 does not exist"), "\(output)")
            (status, output) = try cli([
                "silence", "--rule", "slow", "--for", "2h", "--reason", "maintenance", "--by", "dana",
            ])
            #expect(
                status == 0 && output.contains("silence #1: notifications for rule slow silenced until"),
                "\(output)"
            )
            (status, output) = try cli(["silence", "--for", "soon", "--reason", "x"])
            #expect(status != 0, "\(output)")
            (status, output) = try cli(["silences"])
            #expect(status == 0 && output.contains("#1 by dana"), "\(output)")
            (status, output) = try cli(["unsilence", "1"])
            #expect(status == 0, "\(output)")
            #expect(try await store.silences(activeAt: .now()).isEmpty)
            (status, output) = try cli(["delete-channel", "1"])
            #expect(status != 0 && output.contains("alert rule slow sends to channel ops"), "\(output)")
        }
    }
}
