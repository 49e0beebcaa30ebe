import ArgumentParser
import Foundation
import Logging
import SwarmBench

/// `streamswarm bench gateway`: the results endpoint and the agent list under load, each beside a
/// baseline measured in the same run (``GatewayBench``).
struct GatewayBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract:
            "Results-endpoint downsampling vs. a raw store read, and agent-list vs. static-file rate (needs wrk).",
        discussion: "scripts/bench.sh runs this with a release build."
    )

    @Option(help: "Points in the stored series (one per second).") var points: Int = 86_400
    @Option(help: "Points the endpoint returns.") var downsample: Int = 1000
    @Option(help: "Seconds per wrk run.") var seconds: Int = 10
    @Option(help: "wrk connections for the throughput runs.") var connections: Int = 32
    @Option(help: "Agents in the store (the agent list's length).") var agents: Int = 50

    func run() async throws {
        var logger = Logger(label: "bench.gateway")
        logger.logLevel = .warning
        var configuration = GatewayBench.Configuration()
        configuration.points = points
        configuration.downsample = downsample
        configuration.seconds = seconds
        configuration.connections = connections
        configuration.agents = agents
        configuration.version = StreamSwarm.version
        let report = try await benchRun {
            try await GatewayBench(configuration: configuration, logger: logger).run { print($0) }
        }
        let (series, agentList, staticFile) = (report.series, report.agentList, report.staticFile)
        print(
            String(
                format: """
                    result: series endpoint (%d rows -> %d points) median %.2f ms (p99 %.2f ms, %.0f req/s at 1 connection)
                            store read of the same %d rows median %.2f ms
                            ratio endpoint/store %.3f (target: at most 1.5)
                            agent list (%d agents, bearer token) %.0f req/s (p50 %.2f ms, p99 %.2f ms, %d non-2xx)
                            static file /ui/app.js %.0f req/s (p50 %.2f ms)
                            ratio agent-list/static %.3f
                    """,
                report.rowCount,
                report.returned,
                series.medianMs,
                series.p99Ms,
                series.requestsPerSecond,
                report.rowCount,
                report.storeMedianMs,
                report.ratio,
                agents,
                agentList.requestsPerSecond,
                agentList.medianMs,
                agentList.p99Ms,
                agentList.errors,
                staticFile.requestsPerSecond,
                staticFile.medianMs,
                agentList.requestsPerSecond / max(1, staticFile.requestsPerSecond)
            )
        )
        if report.ratio > 1.5 || agentList.errors > 0 || series.errors > 0 { throw ExitCode(1) }
    }
}
