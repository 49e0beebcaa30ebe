import Crypto
import Foundation
import Logging
import SwarmAlerting
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// The evaluator and the dispatcher over a real SQLite store, a real webhook receiver and a real
/// SMTP sink on loopback: runs are committed as the mesh would, alerts and notifications observed.
@Suite(.timeLimit(.minutes(2))) struct AlertingTests {
    static let agent = AgentName.fixture("edge-1")
    static let secret = "a-webhook-secret-of-32-characters"

    /// Fast options: rules re-read and the outbox polled every 50 ms, retries after 100 ms, 1 s per attempt.
    static var fast: Alerting.Options {
        var options = Alerting.Options()
        options.evaluator.ruleRefresh = .milliseconds(50)
        options.dispatcher.pollInterval = .milliseconds(50)
        options.dispatcher.firstRetryDelay = .milliseconds(100)
        options.dispatcher.maximumDelay = .milliseconds(400)
        options.dispatcher.attemptTimeout = .seconds(1)
        return options
    }

    struct Fixture {
        let store: SQLiteStore
        let test: TestRecord
        var sequence: UInt64 = 0

        /// Commits one icmp run of `ms` (the mesh's unit is µs), one second after the last.
        mutating func run(_ ms: Double, status: MeasurementStatus = .ok) async throws {
            sequence += 1
            let row = MeasurementRecord(
                testID: test.id,
                revision: 1,
                agent: AlertingTests.agent,
                sequence: sequence,
                kind: .icmp,
                startedAt: Timestamp.now() - .seconds(60) + .seconds(Int64(sequence)),
                duration: .milliseconds(5),
                status: status,
                value: status == .ok ? ms * 1000 : nil,
                figures: MeasurementFigures(lossPercent: 0, jitterMicros: 100),
                payload: Data()
            )
            _ = try await store.commitBatches([
                IncomingBatch(agent: AlertingTests.agent, batchID: sequence, measurements: [row])
            ])
        }
    }

    func withFixture(_ body: (inout Fixture) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            try await store.recordSessionStart(
                SessionStart(agent: Self.agent, sessionID: "s1", agentVersion: "test", host: HostFacts(), at: .now())
            )
            let test = try await store.createTest(
                TestSpec(name: "ping core", probes: [.icmp], target: .init(host: "192.0.2.7")),
                agents: [Self.agent]
            )
            var fixture = Fixture(store: store, test: test)
            try await body(&fixture)
        }
    }

    /// Runs alerting beside `body` and stops it afterwards.
    func whileAlerting(_ store: any Store, _ body: () async throws -> Void) async throws {
        let logger = Logger(label: "test.alerting")
        // Runs committed before the evaluator watches would be seen late, as "the last m" at once.
        let ready = Gate<Void>()
        var options = Self.fast
        options.evaluator.ready = { ready.open() }
        let job = Task { try await Alerting.run(store: store, logger: logger, options: options) }
        defer { job.cancel() }
        await ready.wait()
        try await body()
        job.cancel()
        _ = await job.result
    }

    func latencyRule(test: TestID, channels: [String]) -> AlertRuleSpec {
        AlertRuleSpec(
            name: "core latency",
            metric: .latency,
            condition: AlertCondition(comparison: .above, raise: 100, clear: 80, n: 2, m: 3),
            test: test,
            severity: .critical,
            channels: channels
        )
    }

    @Test("one fire and one clear through noise; webhook (signed, retried after 503s) and e-mail got exactly both")
    func fireAndClear() async throws {
        try await WebhookReceiver.with(failingFirst: 2) { hook in
            try await SMTPSink.with { mail in
                try await withFixture { fixture in
                    let store = fixture.store
                    _ = try await store.createAlertChannel(
                        AlertChannelSpec(name: "hook", kind: .webhook, url: hook.url, secret: Self.secret)
                    )
                    _ = try await store.createAlertChannel(
                        AlertChannelSpec(
                            name: "mail",
                            kind: .email,
                            url: mail.url,
                            sender: "swarm@example.net",
                            recipients: ["noc@example.net", "oncall@example.net"]
                        )
                    )
                    _ = try await store.createAlertRule(latencyRule(test: fixture.test.id, channels: ["hook", "mail"]))
                    try await whileAlerting(store) {
                        // Noise around the raise level: one bad run in three never raises.
                        for ms in [20.0, 120, 30, 40, 130, 50] { try await fixture.run(ms) }
                        try await Task.sleep(for: .milliseconds(300))
                        #expect(try await store.alerts(AlertQuery()).isEmpty)
                        for ms in [150.0, 160, 90, 170] { try await fixture.run(ms) }
                        #expect(try await eventually { try await store.alerts(AlertQuery(openOnly: true)).count == 1 })
                        // The raise gets through the two 503s before the clear is queued, so the order is fixed.
                        #expect(await eventually { hook.deliveries.count == 1 && mail.messages.count == 1 })
                        // Between the levels (80–100) clears nothing; two good of three does.
                        for ms in [95.0, 90, 40, 30] { try await fixture.run(ms) }
                        #expect(try await eventually { try await store.alerts(AlertQuery(openOnly: true)).isEmpty })
                        #expect(
                            await eventually(timeout: .seconds(20)) {
                                hook.deliveries.count == 2 && mail.messages.count == 2
                            }
                        )
                        try await Task.sleep(for: .milliseconds(300))
                    }
                    let alerts = try await store.alerts(AlertQuery())
                    #expect(alerts.count == 1)
                    let alert = try #require(alerts.first)
                    #expect(alert.raisedValue == 150 && alert.clearedValue == 30 && alert.agent == Self.agent)
                    #expect(
                        alert.message.contains("core latency: latency 150 ms for test \(fixture.test.id) (ping core)")
                    )

                    #expect(hook.requests == 4, "two refused with 503, then both delivered")
                    #expect(hook.deliveries.map { $0.headers["x-streamswarm-event"] } == ["raised", "cleared"])
                    for delivery in hook.deliveries {
                        let timestamp = try #require(delivery.headers["x-streamswarm-timestamp"])
                        var signed = Data("\(timestamp).".utf8)
                        signed.append(delivery.body)
                        let expected = HMAC<SHA256>.authenticationCode(
                            for: signed,
                            using: SymmetricKey(data: Data(Self.secret.utf8))
                        ).map { String(format: "%02x", $0) }.joined()
                        #expect(delivery.headers["x-streamswarm-signature"] == "sha256=\(expected)")
                        let json = try #require(try JSONSerialization.jsonObject(with: delivery.body) as? [String: Any])
                        let body = try #require(json["alert"] as? [String: Any])
                        #expect(body["rule"] as? String == "core latency" && body["raised_value"] as? Double == 150)
                    }
                    let notifications = try await store.notifications(alert: alert.id)
                    #expect(notifications.allSatisfy { $0.state == .delivered })
                    #expect(notifications.filter { $0.channelName == "hook" }.map(\.attempts).reduce(0, +) == 4)

                    #expect(
                        mail.messages.map { $0.recipients } == [
                            ["noc@example.net", "oncall@example.net"], ["noc@example.net", "oncall@example.net"],
                        ]
                    )
                    #expect(
                        mail.messages.first?.header("Subject")?.hasPrefix("[StreamSwarm] RAISED critical: core latency")
                            == true
                    )
                    #expect(mail.messages.last?.header("Subject")?.hasPrefix("[StreamSwarm] CLEARED critical") == true)
                    #expect(mail.messages.first?.body.contains("latency 150 ms") == true)
                }
            }
        }
    }

    @Test("a silence keeps notifications back; the alert is still raised, cleared and marked silenced")
    func silence() async throws {
        try await WebhookReceiver.with { hook in
            try await withFixture { fixture in
                let store = fixture.store
                _ = try await store.createAlertChannel(
                    AlertChannelSpec(name: "hook", kind: .webhook, url: hook.url, secret: Self.secret)
                )
                _ = try await store.createAlertRule(latencyRule(test: fixture.test.id, channels: ["hook"]))
                _ = try await store.createSilence(
                    SilenceRecord(
                        matcher: AlertSilence(
                            rule: "core latency",
                            untilUnixNanos: (Timestamp.now() + .seconds(3600)).unixNanos
                        ),
                        reason: "planned maintenance",
                        createdBy: "ops",
                        createdAt: .now()
                    )
                )
                try await whileAlerting(store) {
                    for ms in [150.0, 150, 150] { try await fixture.run(ms) }
                    #expect(try await eventually { try await store.alerts(AlertQuery(openOnly: true)).count == 1 })
                    for ms in [20.0, 20] { try await fixture.run(ms) }
                    #expect(try await eventually { try await store.alerts(AlertQuery(openOnly: true)).isEmpty })
                    try await Task.sleep(for: .milliseconds(300))
                }
                let alert = try #require(try await store.alerts(AlertQuery()).first)
                #expect(alert.silenced)
                #expect(try await store.notifications(alert: alert.id).isEmpty)
                #expect(hook.requests == 0)
            }
        }
    }

    @Test("a new evaluator (lease handover) takes the open alert on: no second raise, one clear")
    func handover() async throws {
        try await withFixture { fixture in
            let store = fixture.store
            _ = try await store.createAlertRule(latencyRule(test: fixture.test.id, channels: []))
            try await whileAlerting(store) {
                for ms in [150.0, 150] { try await fixture.run(ms) }
                #expect(try await eventually { try await store.alerts(AlertQuery(openOnly: true)).count == 1 })
            }
            try await whileAlerting(store) {
                for ms in [160.0, 170, 180] { try await fixture.run(ms) }
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await store.alerts(AlertQuery()).count == 1)
                for ms in [20.0, 20] { try await fixture.run(ms) }
                #expect(try await eventually { try await store.alerts(AlertQuery(openOnly: true)).isEmpty })
            }
            #expect(try await store.alerts(AlertQuery()).count == 1)
        }
    }

    @Test("failed runs raise a failure rule; an unreachable webhook is retried with backoff, a 404 is not retried")
    func failuresAndRefusals() async throws {
        try await withFixture { fixture in
            let store = fixture.store
            // The receiver is gone once its scope ends: its port refuses connections.
            try await WebhookReceiver.with { hook in
                _ = try await store.createAlertChannel(
                    AlertChannelSpec(name: "hook", kind: .webhook, url: hook.url, secret: Self.secret)
                )
            }
            _ = try await store.createAlertRule(
                AlertRuleSpec(
                    name: "down",
                    metric: .failure,
                    condition: AlertCondition(comparison: .above, raise: 0.5, clear: 0.5, n: 3, m: 3),
                    channels: ["hook"]
                )
            )
            try await whileAlerting(store) {
                for _ in 0..<3 { try await fixture.run(0, status: .timeout) }
                #expect(try await eventually { try await store.alerts(AlertQuery(openOnly: true)).count == 1 })
                let alert = try #require(try await store.alerts(AlertQuery()).first)
                // The receiver is gone: connection refused is transient, so it is retried.
                #expect(
                    try await eventually {
                        try await store.notifications(alert: alert.id).first.map {
                            $0.attempts >= 2 && $0.state == .pending
                        } == true
                    }
                )
            }
        }
        try await WebhookReceiver.with(failingFirst: 100, failureStatus: 404) { hook in
            try await withFixture { fixture in
                let store = fixture.store
                _ = try await store.createAlertChannel(
                    AlertChannelSpec(name: "hook", kind: .webhook, url: hook.url, secret: Self.secret)
                )
                _ = try await store.createAlertRule(latencyRule(test: fixture.test.id, channels: ["hook"]))
                try await whileAlerting(store) {
                    for ms in [150.0, 150] { try await fixture.run(ms) }
                    #expect(try await eventually { try await store.alerts(AlertQuery(openOnly: true)).count == 1 })
                    let alert = try #require(try await store.alerts(AlertQuery()).first)
                    #expect(
                        try await eventually { try await store.notifications(alert: alert.id).first?.state == .failed }
                    )
                    try await Task.sleep(for: .milliseconds(300))
                    let notification = try #require(try await store.notifications(alert: alert.id).first)
                    #expect(notification.attempts == 1 && notification.lastError.contains("HTTP 404"))
                    #expect(hook.requests == 1)
                }
            }
        }
    }
}
