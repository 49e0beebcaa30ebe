import SwarmCore
import SwarmStore
import Testing

// AlertStore: rules, channels, alerts as history, silences, the notification outbox.
extension StoreConformance {
    static let webhook = AlertChannelSpec(
        name: "ops-hook",
        kind: .webhook,
        url: "http://127.0.0.1:9/hook",
        secret: "0123456789abcdef-secret"
    )

    static func latencyRule(_ name: String = "slow", test: TestID? = nil, channels: [String] = []) -> AlertRuleSpec {
        AlertRuleSpec(
            name: name,
            metric: .latency,
            condition: AlertCondition(comparison: .above, raise: 100, clear: 80, n: 2, m: 3),
            test: test,
            channels: channels
        )
    }

    static func raised(_ rule: AlertRuleRecord, test: TestID, agent: AgentName, at: Timestamp) -> AlertRecord {
        AlertRecord(
            ruleID: rule.id,
            ruleName: rule.spec.name,
            metric: rule.spec.metric,
            severity: rule.spec.severity,
            test: test,
            agent: agent,
            raisedAt: at,
            raisedValue: 150,
            message: "\(rule.spec.name): latency 150 ms on \(agent)"
        )
    }

    static let alertContracts: [Contract] = [
        Contract("alerts: rules are checked, unique by name, name existing channels; a channel in use stays") {
            let store = $0.store
            await expectStoreError(.invalidInput, "unknown channel") {
                _ = try await store.createAlertRule(latencyRule(channels: ["nowhere"]))
            }
            var bad = latencyRule()
            bad.condition.clear = 200
            await expectStoreError(.invalidInput, "clear above raise") { _ = try await store.createAlertRule(bad) }
            var unsigned = webhook
            unsigned.secret = "short"
            await expectStoreError(.invalidInput, "short secret") { _ = try await store.createAlertChannel(unsigned) }
            let channel = try await store.createAlertChannel(webhook)
            await expectStoreError(.conflict) { _ = try await store.createAlertChannel(webhook) }
            let rule = try await store.createAlertRule(latencyRule(channels: [webhook.name]))
            await expectStoreError(.conflict) { _ = try await store.createAlertRule(latencyRule()) }
            #expect(try await store.alertRules().map(\.spec) == [latencyRule(channels: [webhook.name])])
            #expect(try await store.alertChannels().map(\.spec) == [webhook])
            await expectStoreError(.conflict, "the rule sends to it") { try await store.deleteAlertChannel(channel.id) }

            var revised = rule.spec
            revised.condition.raise = 250
            revised.channels = []
            let updated = try await store.updateAlertRule(rule.id, spec: revised)
            #expect(updated.spec.condition.raise == 250)
            #expect(try await store.alertRule(rule.id)?.spec == revised)
            try await store.deleteAlertChannel(channel.id)
            await expectStoreError(.notFound) { _ = try await store.updateAlertRule(rule.id + 99, spec: revised) }
            try await store.deleteAlertRule(rule.id)
            await expectStoreError(.notFound) { try await store.deleteAlertRule(rule.id) }
            #expect(try await store.alertRules().isEmpty)
        },
        Contract("alerts: one open alert per rule and scope, also from two handles at once; history outlives the rule")
        {
            let store = $0.store
            let other = try await $0.openAnother()
            let channel = try await store.createAlertChannel(webhook)
            let rule = try await store.createAlertRule(latencyRule(test: TestID(7), channels: [webhook.name]))
            let now = Timestamp.now()
            // Two evaluators (a lease handover) race to raise the same alert: exactly one wins.
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for handle in [store, other, store, other] {
                    group.addTask {
                        (try? await handle.raiseAlert(
                            raised(rule, test: TestID(7), agent: alpha, at: now),
                            notify: [channel.id]
                        )) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            await expectStoreError(.conflict) {
                _ = try await store.raiseAlert(raised(rule, test: TestID(7), agent: alpha, at: now), notify: [])
            }
            // Another agent is another scope.
            let onBeta = try await store.raiseAlert(raised(rule, test: TestID(7), agent: beta, at: now), notify: [])
            let open = try await store.alerts(AlertQuery(openOnly: true))
            #expect(open.count == 2)
            let first = try #require(open.first { $0.agent == alpha })
            #expect(first.test == TestID(7) && first.raisedValue == 150 && first.isOpen && !first.silenced)
            #expect(try await store.notifications(alert: first.id).map(\.event) == [.raised])

            let cleared = try await store.clearAlert(first.id, at: now + .seconds(60), value: 70, notify: [channel.id])
            #expect(cleared.clearedAt == now + .seconds(60) && cleared.clearedValue == 70)
            // Clearing again changes nothing and tells nobody twice.
            let again = try await other.clearAlert(first.id, at: now + .seconds(120), value: 60, notify: [channel.id])
            #expect(again.clearedAt == now + .seconds(60))
            #expect(try await store.notifications(alert: first.id).map(\.event) == [.raised, .cleared])
            // Once cleared, the scope can raise again.
            _ = try await store.raiseAlert(
                raised(rule, test: TestID(7), agent: alpha, at: now + .seconds(180)),
                notify: []
            )
            #expect(try await store.alerts(AlertQuery(openOnly: true)).count == 2)
            #expect(try await store.alerts(AlertQuery(test: TestID(7))).count == 3)
            #expect(try await store.alerts(AlertQuery(test: TestID(8))).isEmpty)

            #expect(try await store.updateAlertRule(rule.id, spec: latencyRule(test: TestID(7))).spec.channels.isEmpty)
            try await store.deleteAlertRule(rule.id)
            let history = try await store.alerts(AlertQuery())
            #expect(history.count == 3)
            #expect(history.allSatisfy { !$0.isOpen && $0.ruleID == nil && $0.ruleName == "slow" })
            #expect(try await store.alert(onBeta.id)?.clearedAt != nil)
            let kinds = try await store.events(limit: 20).map(\.kind)
            #expect(
                kinds.contains("alert.raised") && kinds.contains("alert.cleared")
                    && kinds.contains("alert_rule.deleted")
            )
        },
        Contract("alerts: the first acknowledgement stays; silences list while active and go when deleted") {
            let store = $0.store
            let rule = try await store.createAlertRule(latencyRule())
            let now = Timestamp.now()
            let alert = try await store.raiseAlert(raised(rule, test: TestID(3), agent: gamma, at: now), notify: [])
            let acked = try await store.acknowledgeAlert(alert.id, by: "ops", at: now + .seconds(5))
            #expect(acked.acknowledgedBy == "ops" && acked.acknowledgedAt == now + .seconds(5))
            let twice = try await store.acknowledgeAlert(alert.id, by: "other", at: now + .seconds(9))
            #expect(twice.acknowledgedBy == "ops" && twice.acknowledgedAt == now + .seconds(5))
            await expectStoreError(.notFound) { _ = try await store.acknowledgeAlert(alert.id + 99, by: "x", at: now) }

            let silence = try await store.createSilence(
                SilenceRecord(
                    matcher: AlertSilence(rule: "slow", test: 3, untilUnixNanos: (now + .seconds(3600)).unixNanos),
                    reason: "maintenance window",
                    createdBy: "ops",
                    createdAt: now
                )
            )
            await expectStoreError(.invalidInput, "ends before it begins") {
                _ = try await store.createSilence(
                    SilenceRecord(
                        matcher: AlertSilence(untilUnixNanos: now.unixNanos),
                        reason: "x",
                        createdBy: "ops",
                        createdAt: now
                    )
                )
            }
            #expect(try await store.silences(activeAt: now).map(\.id) == [silence.id])
            #expect(try await store.silences(activeAt: now + .seconds(3601)).isEmpty)
            #expect(try await store.silences(activeAt: nil).first?.matcher == silence.matcher)
            try await store.deleteSilence(silence.id)
            await expectStoreError(.notFound) { try await store.deleteSilence(silence.id) }
            #expect(try await store.silences(activeAt: nil).isEmpty)
        },
        Contract("alerts: the outbox hands out due notifications once; retries wait; delivered and failed ones end") {
            let store = $0.store
            let hook = try await store.createAlertChannel(webhook)
            var mail = AlertChannelSpec(
                name: "ops-mail",
                kind: .email,
                url: "smtp://127.0.0.1:2525",
                sender: "swarm@example.net",
                recipients: ["ops@example.net"]
            )
            let email = try await store.createAlertChannel(mail)
            mail.recipients = ["ops@example.net\r\nRCPT TO:<victim@example.org>"]
            mail.name = "injected"
            await expectStoreError(.invalidInput, "header injection") { _ = try await store.createAlertChannel(mail) }
            let rule = try await store.createAlertRule(latencyRule(channels: [webhook.name, "ops-mail"]))
            let now = Timestamp.now()
            let alert = try await store.raiseAlert(
                raised(rule, test: TestID(1), agent: alpha, at: now),
                notify: [hook.id, email.id]
            )
            let due = try await store.dueNotifications(now: now, limit: 10)
            #expect(due.map(\.channelName) == ["ops-hook", "ops-mail"])
            #expect(due.allSatisfy { $0.alertID == alert.id && $0.state == .pending && $0.attempts == 0 })
            #expect(try await store.dueNotifications(now: now - .seconds(1), limit: 10).isEmpty)

            try await store.recordDelivery(due[0].id, outcome: .retry(next: now + .seconds(30), error: "HTTP 503"))
            try await store.recordDelivery(due[1].id, outcome: .delivered(at: now + .seconds(1)))
            await expectStoreError(.notFound, "delivered once only") {
                try await store.recordDelivery(due[1].id, outcome: .delivered(at: now + .seconds(2)))
            }
            #expect(try await store.dueNotifications(now: now + .seconds(10), limit: 10).isEmpty)
            let retry = try #require(try await store.dueNotifications(now: now + .seconds(30), limit: 10).first)
            #expect(retry.id == due[0].id && retry.attempts == 1 && retry.lastError == "HTTP 503")
            try await store.recordDelivery(retry.id, outcome: .failed(error: "HTTP 503 five times"))
            let all = try await store.notifications(alert: alert.id)
            #expect(all.map(\.state) == [.failed, .delivered])
            #expect(all[0].attempts == 2 && all[1].deliveredAt == now + .seconds(1))
            #expect(try await store.dueNotifications(now: now + .seconds(3600), limit: 10).isEmpty)
        },
    ]
}
