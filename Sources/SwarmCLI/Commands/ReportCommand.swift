import ArgumentParser
import Foundation
import SwarmCore
import SwarmReports
import SwarmStore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "PDF reports of a test, an agent or the swarm over a period, and their schedules.",
        subcommands: [Make.self, Schedules.self, AddSchedule.self, DeleteSchedule.self],
        defaultSubcommand: Make.self
    )

    struct Make: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "make",
            abstract: "Write a PDF report (the default): 'streamswarm report --scope swarm --last 7d --out week.pdf'."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "swarm, test:ID or agent:NAME.") var scope: String = "swarm"
        @Option(help: "Start of the period (RFC 3339 or YYYY-MM-DD, UTC); default: --last before --to.") var from:
            String?
        @Option(help: "End of the period (RFC 3339 or YYYY-MM-DD, UTC); default: now.") var to: String?
        @Option(help: "Length of the period when --from is not given (e.g. 24h, 7d, 30d).") var last: String = "24h"
        @Option(help: "a4 or letter.") var paper: String = "a4"
        @Option(help: "Who the cover names as the author (default: $USER).") var by: String?
        @Option(help: "Where to write the PDF.") var out: String

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let request = try ReportRequest(
                scope: ReportScope(parsing: scope),
                period: period(now: .now()),
                paper: paperSize(),
                generatedBy: by ?? ProcessInfo.processInfo.environment["USER"] ?? "streamswarm report"
            )
            let backend = try store.open(logger: logger)
            let started = ContinuousClock.now
            // Long periods read many tests: a line per step on stderr, so the wait is visible.
            let report = try await ReportBuilder.build(request, store: backend) { step in
                FileHandle.standardError.write(Data("report: \(step)\n".utf8))
            }
            FileHandle.standardError.write(Data("report: drawing \(report.sections.count) test(s)\n".utf8))
            let pdf = try ReportRenderer.render(report)
            do {
                try pdf.data.write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw ValidationError("cannot write \(out): \(error.localizedDescription)")
            }
            let took = (ContinuousClock.now - started).seconds
            print(
                "wrote \(out): \(pdf.pages) page(s), \(pdf.data.count / 1024) KiB, \(report.sections.count) test(s), \(report.incidents.count + report.moreIncidents) alert(s), \(report.findings.count) finding(s) in \(String(format: "%.1f", took)) s"
            )
        }

        func period(now: Timestamp) throws -> TimeRange {
            func time(_ text: String, _ option: String) throws -> Timestamp {
                guard let value = Timestamp(rfc3339: text) else {
                    throw ValidationError("\(option) \(text) is not a time; use 2026-12-01 or 2026-12-01T08:00:00Z")
                }
                return value
            }
            let end = try to.map { try time($0, "--to") } ?? now
            let start = try from.map { try time($0, "--from") } ?? end - parseDuration(last, option: "--last")
            return TimeRange(from: start, to: end)
        }

        func paperSize() throws -> Paper {
            guard let paper = Paper(rawValue: paper.lowercased()) else {
                throw ValidationError("--paper \(paper) is not a4 or letter")
            }
            return paper
        }
    }

    struct Schedules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedules",
            abstract: "List report schedules and how their last delivery went."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let schedules = try await store.open(logger: logger).reportSchedules()
            guard !schedules.isEmpty else {
                print(
                    "no report schedules: add one with 'streamswarm report add-schedule --name weekly --scope swarm --cadence weekly --channel MAIL'"
                )
                return
            }
            for s in schedules {
                var line =
                    "#\(s.id) \(s.spec.name): \(s.spec.cadence.rawValue) \(s.spec.scope) (\(s.spec.paper.rawValue)) to \(s.spec.channel), sent \(s.sent)"
                if let end = s.lastPeriodEnd { line += ", last period ending \(end.iso8601)" }
                if !s.lastError.isEmpty { line += "; last attempt failed: \(s.lastError)" }
                print(line)
            }
        }
    }

    struct AddSchedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-schedule",
            abstract: "Mail a report after every day or week (UTC) to an e-mail alert channel's recipients."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "A unique name.") var name: String
        @Option(help: "swarm, test:ID or agent:NAME.") var scope: String = "swarm"
        @Option(help: "daily (the UTC day before) or weekly (the ISO week before, Monday to Monday).") var cadence:
            String
        @Option(help: "a4 or letter.") var paper: String = "a4"
        @Option(help: "An e-mail alert channel (streamswarm alerts channels).") var channel: String
        @Option(help: "Who adds it (default: $USER).") var by: String?

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            guard let cadence = ReportCadence(rawValue: cadence) else {
                throw ValidationError("--cadence \(cadence) is not daily or weekly")
            }
            guard let paper = Paper(rawValue: paper.lowercased()) else {
                throw ValidationError("--paper \(paper) is not a4 or letter")
            }
            let spec = ReportScheduleSpec(
                name: name,
                scope: try ReportScope(parsing: scope),
                cadence: cadence,
                paper: paper,
                channel: channel
            )
            let record = try await store.open(logger: logger).createReportSchedule(
                spec,
                by: by ?? ProcessInfo.processInfo.environment["USER"] ?? "cli"
            )
            let next = cadence.lastPeriod(endingBy: .now() + cadence.length)
            print(
                "schedule #\(record.id) \(name): \(cadence.rawValue) report of \(spec.scope) to \(channel); the server mails the period ending \(cadence.lastPeriod(endingBy: .now()).to.iso8601) within a minute, then the one ending \(next.to.iso8601)"
            )
        }
    }

    struct DeleteSchedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-schedule",
            abstract: "Stop a report schedule."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Schedule id (streamswarm report schedules).") var id: Int64

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            try await store.open(logger: logger).deleteReportSchedule(id)
            print("schedule #\(id) deleted")
        }
    }
}
