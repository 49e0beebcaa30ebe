import ArgumentParser
import Foundation
import Logging
import SwarmBench

/// `streamswarm bench analytics`: evaluating series beside reading them (``AnalyticsBench``).
struct AnalyticsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract:
            "Time to evaluate series (baseline, change points, EWMA, alert tracking) beside the time to read them.",
        discussion: "scripts/bench.sh runs this with a release build."
    )

    @Option(help: "Series ((test, agent) pairs).") var series: Int = 10_000
    @Option(help: "Points per series (one a minute).") var points: Int = 1440

    func run() async throws {
        var logger = Logger(label: "bench.analytics")
        logger.logLevel = .warning
        var configuration = AnalyticsBench.Configuration()
        configuration.series = series
        configuration.points = points
        let report = try await benchRun {
            try await AnalyticsBench(configuration: configuration, logger: logger).run { print($0) }
        }
        print(
            String(
                format: """
                    result: %d series x %d points
                            store read   %.2f s (%.0f µs a series)
                            evaluation   %.2f s (%.0f µs a series; %d level shifts, %d alerts raised)
                            ratio evaluation/read %.3f
                    """,
                report.series,
                report.points,
                report.readSeconds,
                report.readSeconds / Double(report.series) * 1e6,
                report.evaluateSeconds,
                report.evaluateSeconds / Double(report.series) * 1e6,
                report.changePoints,
                report.alerts,
                report.ratio
            )
        )
    }
}
