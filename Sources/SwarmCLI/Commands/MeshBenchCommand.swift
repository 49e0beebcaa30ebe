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
    @Option(
        name: .customLong("postgres"),
        help: ArgumentHelp(
            "Run on PostgreSQL instead of SQLite: a server URL whose user may CREATE DATABASE.",
            discussion: "One server beside a COPY of the same rows, then two servers on one database."
        )
    )
    var postgres: String?
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
        configuration.postgresAdminURL = postgres
        let report = try await benchRun {
            try await MeshBench(configuration: configuration, logger: logger).run { text in
                FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
            }
        }
        func ms(_ value: Double) -> String { String(format: "%.2f", value * 1000) }
        let phase = report.phase
        let baseline =
            postgres == nil
            ? "plain SQLite insert ceiling \(Int(report.baselineRowsPerSecond)) rows/s (same rows, same schema, 10,000 rows per transaction)"
            : "PostgreSQL COPY ceiling     \(Int(report.baselineRowsPerSecond)) rows/s (same rows, same table and database, one COPY)"
        print(
            """

            bench mesh: \(agents) agents, \(measurementsPerSecond) measurements/s offered for \(seconds) s, heartbeat \(heartbeat), \(postgres == nil ? "SQLite" : "PostgreSQL")
              agents connected            \(phase.connected)
              measurements stored         \(phase.stored) of \(phase.offered) offered
              stored per second           \(Int(phase.storedPerSecond))
              \(baseline)
              ingest / ceiling            \(String(format: "%.2f", phase.storedPerSecond / report.baselineRowsPerSecond))
              batch-ack latency p50/p99   \(ms(phase.ackP50)) / \(ms(phase.ackP99)) ms
              heartbeat round trip p99    \(ms(phase.heartbeatP99)) ms (\(phase.heartbeats) heartbeats)
              server RSS start/idle/end   \(phase.startRSSBytes / 1024) / \(phase.idleRSSBytes / 1024) / \(phase.endRSSBytes / 1024) KiB
              server RSS per idle conn.   \(String(format: "%.1f", phase.rssBytesPerConnection / 1024)) KiB
            """
        )
        if let two = report.twoServers {
            print(
                """
                  two servers, one database   \(two.stored) of \(two.offered) stored, \(Int(two.storedPerSecond)) per second (agents split evenly)
                  two servers / one server    \(String(format: "%.2f", two.storedPerSecond / max(phase.storedPerSecond, 1)))
                  two servers' batch-ack p50/p99 \(ms(two.ackP50)) / \(ms(two.ackP99)) ms
                """
            )
        }
    }
}
