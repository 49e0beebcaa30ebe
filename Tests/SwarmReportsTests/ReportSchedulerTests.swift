import Foundation
import Logging
import SwarmAlerting
import SwarmCore
import SwarmReports
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// Scheduled reports mailed through an e-mail alert channel to a local SMTP sink, over a real
/// SQLite store: once per period, retried after a failure, never for a period already sent.
@Suite struct ReportSchedulerTests {
    /// Tuesday 2026-12-08 09:30 UTC.
    static let now = Timestamp(unixNanos: 1_796_722_200 * 1_000_000_000)

    /// A day of icmp runs before `now`, every 10 minutes.
    func seed(_ store: SQLiteStore) async throws {
        let agent = try #require(AgentName("edge-1"))
        let test = try await store.createTest(
            TestSpec(name: "ping core", probes: [.icmp], target: .init(host: "192.0.2.9")),
            agents: [agent]
        )
        let rows = (0..<300).map { (step: Int) -> MeasurementRecord in
            let value = (20 + Double(step % 5)) * 1000
            return MeasurementRecord(
                testID: test.id,
                revision: 1,
                agent: agent,
                sequence: UInt64(step + 1),
                kind: .icmp,
                startedAt: Self.now - .seconds(600 * Int64(300 - step)),
                duration: .milliseconds(50),
                status: .ok,
                value: value,
                figures: MeasurementFigures(lossPercent: 0),
                payload: Data()
            )
        }
        _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: 1, measurements: rows)])
        _ = try await store.rollUp(closedBefore: Self.now, maxSpan: .seconds(10 * 86_400))
    }

    /// The PDF attached to a message, decoded.
    static func attachment(_ message: SMTPSink.Message) -> Data? {
        guard let start = message.data.range(of: "Content-Type: application/pdf"),
            let body = message.data.range(of: "\r\n\r\n", range: start.upperBound..<message.data.endIndex),
            let end = message.data.range(of: "\r\n--streamswarm-", range: body.upperBound..<message.data.endIndex)
        else { return nil }
        return Data(
            base64Encoded: String(message.data[body.upperBound..<end.lowerBound]),
            options: .ignoreUnknownCharacters
        )
    }

    @Test("a daily swarm report is mailed once per day with the PDF attached; a weekly one covers Monday to Monday")
    func mailed() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            try await seed(store)
            try await SMTPSink.with { sink in
                _ = try await store.createAlertChannel(
                    AlertChannelSpec(
                        name: "noc-mail",
                        kind: .email,
                        url: sink.url,
                        sender: "swarm@example.net",
                        recipients: ["noc@example.net", "lead@example.net"]
                    )
                )
                _ = try await store.createReportSchedule(
                    ReportScheduleSpec(name: "daily swarm", scope: .swarm, cadence: .daily, channel: "noc-mail"),
                    by: "dana"
                )
                let scheduler = ReportScheduler(store: store, logger: Logger(label: "test.reports"))
                let first = try await scheduler.pass(now: Self.now)
                let yesterdayEnd = Timestamp(unixNanos: 1_796_688_000 * 1_000_000_000)  // 2026-12-08 00:00 UTC
                guard case .sent(_, let end, _)? = first.first, first.count == 1 else {
                    Issue.record("first pass: \(first)")
                    return
                }
                #expect(end == yesterdayEnd)
                #expect(sink.messages.count == 1)
                let message = try #require(sink.messages.first)
                #expect(message.recipients.sorted() == ["lead@example.net", "noc@example.net"])
                #expect(message.header("Subject") == "[StreamSwarm] daily report: Swarm report, 2026-12-07")
                #expect(message.body.contains("Period: 2026-12-07 00:00 UTC – 2026-12-08 00:00 UTC"))
                #expect(message.body.contains("runs: 144"), "\(message.body)")
                let pdf = try #require(Self.attachment(message), "no PDF part in \(message.data.prefix(800))")
                #expect(pdf.starts(with: Data("%PDF-".utf8)))
                let path = "\(dir)/mailed.pdf"
                try pdf.write(to: URL(fileURLWithPath: path))
                let text = try PDFFile(path: path, scratch: dir).text()
                #expect(text.contains("Swarm report") && text.contains("schedule daily swarm"))
                #expect(text.contains("2026-12-07 00:00 UTC – 2026-12-08 00:00 UTC (1 d)"))

                // The same day again, an hour later: nothing new. The next day: the next report.
                #expect(try await scheduler.pass(now: Self.now + .seconds(3600)).isEmpty)
                #expect(sink.messages.count == 1)
                let next = try await scheduler.pass(now: Self.now + .seconds(86_400))
                #expect(next.count == 1 && sink.messages.count == 2)
                let listed = try #require(try await store.reportSchedules().first)
                #expect(listed.sent == 2 && listed.lastPeriodEnd == yesterdayEnd + .seconds(86_400))

                _ = try await store.createReportSchedule(
                    ReportScheduleSpec(
                        name: "weekly",
                        scope: .swarm,
                        cadence: .weekly,
                        paper: .letter,
                        channel: "noc-mail"
                    ),
                    by: "dana"
                )
                let weekly = try await scheduler.pass(now: Self.now + .seconds(86_400 + 60))
                #expect(weekly.count == 1 && sink.messages.count == 3)
                #expect(
                    sink.messages.last?.header("Subject") == "[StreamSwarm] weekly report: Swarm report, 2026-11-30"
                )
                #expect(sink.messages.last?.body.contains("2026-11-30 00:00 UTC – 2026-12-07 00:00 UTC") == true)
            }
        }
    }

    @Test("a relay that fails is recorded, retried after the wait, and the report then goes once")
    func retried() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            try await seed(store)
            try await SMTPSink.with(failingFirst: 1) { sink in
                _ = try await store.createAlertChannel(
                    AlertChannelSpec(
                        name: "noc-mail",
                        kind: .email,
                        url: sink.url,
                        sender: "swarm@example.net",
                        recipients: ["noc@example.net"]
                    )
                )
                _ = try await store.createReportSchedule(
                    ReportScheduleSpec(name: "daily", scope: .swarm, cadence: .daily, channel: "noc-mail"),
                    by: "dana"
                )
                var options = ReportScheduler.Options()
                options.retryAfter = .seconds(300)
                let scheduler = ReportScheduler(store: store, logger: Logger(label: "test.reports"), options: options)
                let failed = try await scheduler.pass(now: Self.now)
                guard case .failed(_, let reason)? = failed.first else {
                    Issue.record("expected a failure: \(failed)")
                    return
                }
                #expect(reason.contains("451"), "\(reason)")
                var listed = try #require(try await store.reportSchedules().first)
                #expect(listed.lastError.contains("451") && listed.sent == 0 && listed.lastPeriodEnd == nil)
                #expect(try await scheduler.pass(now: Self.now + .seconds(60)).isEmpty, "retried before the wait")
                let retried = try await scheduler.pass(now: Self.now + .seconds(301))
                #expect(retried.count == 1 && sink.messages.count == 1)
                listed = try #require(try await store.reportSchedules().first)
                #expect(listed.lastError.isEmpty && listed.sent == 1)
            }
        }
    }
}
