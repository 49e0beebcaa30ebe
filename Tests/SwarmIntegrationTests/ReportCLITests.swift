import Foundation
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// `streamswarm report …` as an operator types it, against a store this process seeds.
@Suite(.timeLimit(.minutes(1))) struct ReportCLITests {
    @Test("make a PDF with a progress line per step; manage schedules; bad input says what to fix")
    func reportCommands() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let agent = try #require(AgentName("edge-1"))
            let test = try await store.createTest(
                TestSpec(name: "dns edge", probes: [.dns], target: .init(host: "192.0.2.53")),
                agents: [agent]
            )
            let now = Timestamp.now()
            let rows = (0..<120).map { (step: Int) -> MeasurementRecord in
                let value = Double(3000 + 50 * (step % 9))
                return MeasurementRecord(
                    testID: test.id,
                    revision: 1,
                    agent: agent,
                    sequence: UInt64(step + 1),
                    kind: .dns,
                    startedAt: now - .seconds(60 * Int64(120 - step)),
                    duration: .milliseconds(5),
                    status: step % 40 == 0 ? .failed : .ok,
                    value: step % 40 == 0 ? nil : value,
                    figures: MeasurementFigures(),
                    payload: Data()
                )
            }
            _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: 1, measurements: rows)])
            let db = "sqlite:\(dir)/test.sqlite"
            func cli(_ arguments: [String]) throws -> (Int32, String) {
                try ProductBinary.run(["report"] + arguments + ["--db", db], in: dir)
            }

            var (status, output) = try cli([
                "--scope", "test:\(test.id)", "--last", "3h", "--out", "\(dir)/dns.pdf", "--by", "dana",
            ])
            #expect(
                status == 0 && output.contains("wrote \(dir)/dns.pdf: ") && output.contains("1 test(s)"),
                "\(output)"
            )
            #expect(
                output.contains("report: reading test \(test.id) 'dns edge' (1 of 1)")
                    && output.contains("report: drawing 1 test(s)")
            )
            let text = try PDFFile(path: "\(dir)/dns.pdf", scratch: dir).text()
            #expect(
                text.contains("Test report: dns edge") && text.contains("dana") && text.contains("runs 120"),
                "\(text.prefix(800))"
            )
            #expect(text.contains("availability 97.5%"), "3 of 120 failed")

            (status, output) = try cli(["--scope", "router:r1", "--out", "\(dir)/x.pdf"])
            #expect(status != 0 && output.contains("is not one of swarm, test:ID, agent:NAME"), "\(output)")
            (status, output) = try cli(["--scope", "test:99", "--out", "\(dir)/x.pdf"])
            #expect(status != 0 && output.contains("there is no test 99"), "\(output)")
            (status, output) = try cli(["--from", "2026-12-05", "--to", "2026-12-01", "--out", "\(dir)/x.pdf"])
            #expect(status != 0 && output.contains("the period is empty"), "\(output)")
            (status, output) = try cli(["--out", "/nonexistent-dir/x.pdf"])
            #expect(status != 0 && output.contains("cannot write /nonexistent-dir/x.pdf"), "\(output)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/x.pdf"))

            (status, output) = try cli(["schedules"])
            #expect(status == 0 && output.contains("no report schedules"), "\(output)")
            (status, output) = try cli(["add-schedule", "--name", "daily", "--cadence", "daily", "--channel", "mail"])
            #expect(status != 0 && output.contains("there is no channel mail"), "\(output)")
            _ = try await store.createAlertChannel(
                AlertChannelSpec(
                    name: "mail",
                    kind: .email,
                    url: "smtp://127.0.0.1:25",
                    sender: "swarm@example.net",
                    recipients: ["noc@example.net"]
                )
            )
            (status, output) = try cli(["add-schedule", "--name", "daily", "--cadence", "hourly", "--channel", "mail"])
            #expect(status != 0 && output.contains("--cadence hourly is not daily or weekly"), "\(output)")
            (status, output) = try cli([
                "add-schedule", "--name", "daily", "--cadence", "daily", "--scope", "agent:edge-1", "--channel", "mail",
            ])
            #expect(
                status == 0 && output.contains("schedule #1 daily: daily report of agent:edge-1 to mail"),
                "\(output)"
            )
            (status, output) = try cli(["schedules"])
            #expect(status == 0 && output.contains("#1 daily: daily agent:edge-1 (a4) to mail, sent 0"), "\(output)")
            (status, output) = try cli(["delete-schedule", "1"])
            #expect(status == 0 && output.contains("schedule #1 deleted"))
            #expect(try await store.reportSchedules().isEmpty)
        }
    }
}
