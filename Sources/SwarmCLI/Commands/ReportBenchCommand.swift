import ArgumentParser
import Foundation
import Logging
import SwarmBench

/// `streamswarm bench reports`: a long swarm report beside reading its data (``ReportBench``).
struct ReportBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reports",
        abstract: "Time and peak memory to make a swarm report over a long period, beside the time to read its data.",
        discussion: "scripts/bench.sh runs this with a release build."
    )

    @Option(help: "Tests in the swarm.") var tests: Int = 10
    @Option(help: "Agents running each test.") var agents: Int = 4
    @Option(help: "Days of history (one run a minute per series).") var days: Int = 30

    func run() async throws {
        var logger = Logger(label: "bench.reports")
        logger.logLevel = .warning
        var configuration = ReportBench.Configuration()
        configuration.tests = tests
        configuration.agents = agents
        configuration.days = days
        let result = try await benchRun {
            try await ReportBench(configuration: configuration, logger: logger).run { print($0) }
        }
        print(String(format: "result: %d runs seeded and rolled up in %.1f s", result.rows, result.seedSeconds))
        for run in result.runs {
            print(
                String(
                    format: """
                        result: swarm report over %d days (%d tests x %d agents)
                                store read (the report's series)  %.3f s
                                report made (reads, findings)     %.3f s
                                drawn (cairo PDF)                 %.3f s   %d pages, %d KiB
                                peak RSS while making it          %.1f MiB (%.1f MiB before)
                                ratio made+drawn/read %.2f
                        """,
                    run.days,
                    tests,
                    agents,
                    run.readSeconds,
                    run.buildSeconds,
                    run.renderSeconds,
                    run.pages,
                    run.bytes / 1024,
                    Double(run.peakBytes) / 1_048_576,
                    Double(run.beforeBytes) / 1_048_576,
                    run.ratio
                )
            )
        }
    }
}
