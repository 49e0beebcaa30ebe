import ArgumentParser
import Foundation
import Logging
import SwarmBench

/// `streamswarm bench gnmi`: one agent collecting from many simulated devices over TLS, end to end
/// (``GNMIBench``): updates ingested per second beside updates offered, with the agent's CPU and memory.
struct GNMIBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gnmi",
        abstract: "One agent, many simulated gNMI devices: updates ingested/s vs offered/s, agent CPU and memory.",
        discussion: "scripts/bench.sh runs this with a release build (BENCH=gnmi)."
    )

    @Option(help: "Simulated devices.") var devices = 200
    @Option(help: "Interfaces per device.") var interfaces = 5
    @Option(
        name: .customLong("counters-per-interface"),
        help: "Counters per interface (interfaces × this = counters per device)."
    )
    var countersPerInterface = 10
    @Option(help: "Measured window in seconds, after every device reported once.") var seconds = 30
    @Option(name: .customLong("warmup-timeout"), help: "Seconds to wait for every device's first result.")
    var warmupTimeout = 60
    @Option(help: "Seconds to let the pipeline reach steady state after the warm-up, before measuring.")
    var settle = 10

    func run() async throws {
        let binary = currentExecutable()
        let targetBinary = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent(
            "swarm-gnmi-target"
        ).path
        var logger = Logger(label: "bench.gnmi")
        logger.logLevel = .warning
        var configuration = GNMIBench.Configuration(agentExecutable: binary, targetExecutable: targetBinary)
        configuration.devices = devices
        configuration.interfaces = interfaces
        configuration.countersPerInterface = countersPerInterface
        configuration.seconds = seconds
        configuration.warmupTimeout = warmupTimeout
        configuration.settle = settle
        let r = try await benchRun {
            try await GNMIBench(configuration: configuration, logger: logger).run { print($0) }
        }
        print(
            String(
                format: """
                    gnmi: %d devices × %d counters/s, measured over %.1f s
                      offered   %.0f updates/s (sent by the devices)
                      ingested  %.0f updates/s (landed in the store, end to end)  ratio %.3f
                      results   %.0f/s stored, %d failed
                      agent     CPU %.1f%% of one core, peak RSS %.1f MiB (idle before the devices: %.1f MiB)
                      whole run %d updates sent, %d stored: ratio %.4f (target 1.0000: no loss)
                    """,
                r.devices,
                r.counters,
                r.elapsedSeconds,
                r.offeredPerSecond,
                r.ingestedPerSecond,
                r.offeredPerSecond > 0 ? r.ingestedPerSecond / r.offeredPerSecond : 0,
                Double(r.results) / r.elapsedSeconds,
                r.failed,
                r.agentCPUPercent,
                Double(r.agentPeakRSSBytes) / 1_048_576,
                Double(r.agentIdleRSSBytes) / 1_048_576,
                r.sentTotal,
                r.storedTotal,
                r.sentTotal > 0 ? Double(r.storedTotal) / Double(r.sentTotal) : 0
            )
        )
    }
}
