import SwarmCore
import SwarmStore
import Testing

// ReportScheduleStore: schedules mail through an e-mail channel, which then stays.
extension StoreConformance {
    static let mail = AlertChannelSpec(
        name: "noc-mail",
        kind: .email,
        url: "smtp://127.0.0.1:25",
        sender: "swarm@example.net",
        recipients: ["noc@example.net"]
    )

    static let reportContracts: [Contract] = [
        Contract("reports: schedules are unique by name, need an e-mail channel, keep it, and record deliveries") {
            let store = $0.store
            let weekly = ReportScheduleSpec(name: "weekly", scope: .swarm, cadence: .weekly, channel: mail.name)
            await expectStoreError(.invalidInput, "no such channel") {
                _ = try await store.createReportSchedule(weekly, by: "dana")
            }
            let hook = try await store.createAlertChannel(webhook)
            var toHook = weekly
            toHook.channel = webhook.name
            await expectStoreError(.invalidInput, "not e-mail") {
                _ = try await store.createReportSchedule(toHook, by: "dana")
            }
            let channel = try await store.createAlertChannel(mail)
            let made = try await store.createReportSchedule(weekly, by: "dana")
            #expect(made.spec == weekly && made.createdBy == "dana" && made.lastPeriodEnd == nil && made.sent == 0)
            await expectStoreError(.conflict) { _ = try await store.createReportSchedule(weekly, by: "lee") }
            await expectStoreError(.conflict, "the schedule mails through it") {
                try await store.deleteAlertChannel(channel.id)
            }
            try await store.deleteAlertChannel(hook.id)

            let end = Timestamp(unixNanos: 1_796_256_000 * 1_000_000_000)
            try await store.recordReportDelivery(made.id, .failed("relay refused"), at: end + .seconds(60))
            var listed = try #require(try await store.reportSchedules().first)
            #expect(
                listed.lastError == "relay refused" && listed.lastAttemptAt == end + .seconds(60) && listed.sent == 0
            )
            try await store.recordReportDelivery(made.id, .sent(periodEnd: end), at: end + .seconds(120))
            // A slower attempt for an older period finishing later does not move the end back.
            try await store.recordReportDelivery(
                made.id,
                .sent(periodEnd: end - .seconds(86_400)),
                at: end + .seconds(180)
            )
            listed = try #require(try await store.reportSchedules().first)
            #expect(listed.lastError.isEmpty && listed.lastPeriodEnd == end && listed.sent == 2)
            await expectStoreError(.notFound) { try await store.recordReportDelivery(999, .failed("x"), at: end) }

            try await store.deleteReportSchedule(made.id)
            #expect(try await store.reportSchedules().isEmpty)
            await expectStoreError(.notFound) { try await store.deleteReportSchedule(made.id) }
            try await store.deleteAlertChannel(channel.id)
        },
        Contract("reports: a schedule added while its channel is deleted from another handle: one of the two wins") {
            let store = $0.store
            let other = try await $0.openAnother()
            for round in 0..<5 {
                let channel = try await store.createAlertChannel(mail)
                let spec = ReportScheduleSpec(
                    name: "daily-\(round)",
                    scope: .swarm,
                    cadence: .daily,
                    channel: mail.name
                )
                async let added: Bool = { (try? await store.createReportSchedule(spec, by: "dana")) != nil }()
                async let deleted: Bool = { (try? await other.deleteAlertChannel(channel.id)) != nil }()
                let (scheduled, gone) = await (added, deleted)
                #expect(scheduled != gone, "round \(round): added \(scheduled), deleted \(gone)")
                let schedules = try await store.reportSchedules()
                let channels = try await store.alertChannels()
                // Never a schedule whose channel is gone.
                #expect(schedules.allSatisfy { s in channels.contains { $0.spec.name == s.spec.channel } })
                for schedule in schedules { try await store.deleteReportSchedule(schedule.id) }
                for channel in channels { try await store.deleteAlertChannel(channel.id) }
            }
        },
    ]
}
