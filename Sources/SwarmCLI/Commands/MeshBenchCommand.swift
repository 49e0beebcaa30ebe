import ArgumentParser
import Foundation
import SwarmBench

/// `streamswarm bench mesh`: N simulated agents over real mutual-TLS connections against a real
/// server process, reporting ingest against a plain batched SQLite insert of the same rows measured
/// in the same run (``MeshBench``).
struct MeshBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Simulated agents over real mTLS against a real server process; ingest vs. plain SQLite insert."
    )

    @Option(help: "Simulated agents (one mTLS connection each).") var agents: Int = 1000
    @Option(name: .customLong("measurements-per-second"), help: "Measurements offered per second, all agents together.")
    var measurementsPerSecond: Int = 60_000
    @Option(help: "Length of the load phase.") var seconds: Int = 10
    @Option(name: .customLong("heartbeat-interval"), help: "Heartbeat interval of server and simulated agents.")
    var heartbeatInterval: String = "2s"
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard agents >= 1, agents <= 20_000 else { throw ValidationError("--agents must be 1...20000") }
        guard measurementsPerSecond >= agents else {
            throw ValidationError("--measurements-per-second must be at least --agents")
        }
        guard (1...600).contains(seconds) else { throw ValidationError("--seconds must be 1...600") }
    }

    func run() async throws {
        let logger = try logging.makeLogger(label: "streamswarm.bench")
        let heartbeat = try parseDuration(heartbeatInterval, option: "--heartbeat-interval")
        var configuration = MeshBench.Configuration(serverExecutable: currentExecutable())
        configuration.agents = agents
        configuration.measurementsPerSecond = measurementsPerSecond
        configuration.seconds = seconds
        configuration.heartbeatInterval = heartbeat
        let report = try await benchRun {
            try await MeshBench(configuration: configuration, logger: logger).run { text in
                FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
            }
        }
        func ms(_ value: Double) -> String { String(format: "%.2f", value * 1000) }
        print(
            """

            bench mesh: \(agents) agents, \(measurementsPerSecond) measurements/s offered for \(seconds) s, heartbeat \(heartbeat)
              agents connected            \(report.connected)
              measurements stored         \(report.stored) of \(report.offered) offered
              stored per second           \(Int(report.storedPerSecond))
              plain SQLite insert ceiling \(Int(report.baselineRowsPerSecond)) rows/s (same rows, same schema, 10,000 rows per transaction)
              ingest / ceiling            \(String(format: "%.2f", report.storedPerSecond / report.baselineRowsPerSecond))
              batch-ack latency p50/p99   \(ms(report.ackP50)) / \(ms(report.ackP99)) ms
              heartbeat round trip p99    \(ms(report.heartbeatP99)) ms (\(report.heartbeats) heartbeats)
              server RSS start/idle/end   \(report.startRSSBytes / 1024) / \(report.idleRSSBytes / 1024) / \(report.endRSSBytes / 1024) KiB
              server RSS per idle conn.   \(String(format: "%.1f", report.rssBytesPerConnection / 1024)) KiB
            """
        )
    }
}
