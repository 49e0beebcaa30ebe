import ArgumentParser
import Foundation
import SwarmCore
import SwarmReports
import SwarmStore

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "PDF reports of a test, an agent or the swarm over a period, and their schedules.",
        subcommands: [Make.self],
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
}
