import ArgumentParser
import Foundation
import SwarmBench

/// `streamswarm bench icmp`: does one agent keep many ICMP targets at one probe per second without
/// its RTTs drifting? The RTT to one fixed target is measured first alone (the baseline), then while
/// the same process probes `--targets` addresses at 1/s each, through the agent's own icmp probe
/// (``ICMPBench``).
struct ICMPBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icmp",
        abstract: "RTT to a fixed target alone vs. while probing N targets at 1/s each (run inside the lab).",
        discussion: "scripts/bench.sh runs this inside a netlab namespace pinned to one core with taskset."
    )

    @Option(help: "The fixed-delay target whose RTT is compared.") var fixed: String
    @Option(help: "First address of the load targets (consecutive IPv4 addresses).") var firstTarget: String
    @Option(help: "Number of targets probed at once in the loaded phase (the fixed one included).")
    var targets: Int = 1000
    @Option(help: "Seconds per phase.") var seconds: Int = 30

    func run() async throws {
        guard let first = IPv4(firstTarget) else { throw ValidationError("--first-target \(firstTarget) is not IPv4") }
        var configuration = ICMPBench.Configuration(fixed: fixed, firstTarget: first)
        configuration.targets = targets
        configuration.seconds = seconds
        let report = await ICMPBench(configuration: configuration).run { print($0) }
        let aloneMedian = report.alone.fixedMedianMicros
        let loadedMedian = report.loaded.fixedMedianMicros
        let loaded = report.loaded
        print(
            String(
                format: """
                    result: fixed-target median RTT %.3f ms alone (%d replies), %.3f ms under %d targets (%d replies)
                            drift %+.3f ms (target: within ±0.5 ms), ratio loaded/alone %.4f
                            load phase: %d probes sent, %d replies (%.2f%% lost), process CPU %.0f%% of one core
                    """,
                aloneMedian / 1000,
                report.alone.fixedRTTMicros.count,
                loadedMedian / 1000,
                targets,
                loaded.fixedRTTMicros.count,
                report.driftMs,
                loadedMedian / max(1, aloneMedian),
                loaded.sent,
                loaded.received,
                loaded.sent == 0 ? 0 : Double(loaded.sent - loaded.received) / Double(loaded.sent) * 100,
                report.loadedCPU * 100
            )
        )
        if abs(report.driftMs) > 0.5 { throw ExitCode(1) }
    }
}
