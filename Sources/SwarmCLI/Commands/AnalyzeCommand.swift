import ArgumentParser
import Foundation
import SwarmAnalytics
import SwarmCore
import SwarmInsights
import SwarmStore

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Health, anomalies, level shifts, a forecast and likely causes for a test, in the terminal."
    )
    @OptionGroup var store: StoreOptions
    @OptionGroup var logging: LoggingOptions
    @Argument(help: "Test id.") var test: Int64
    @Option(help: "The recent stretch to judge (e.g. 1h, 30m).") var window: String = "1h"
    @Option(help: "What 'usual' is learned from (e.g. 28d, 7d).") var history: String = "28d"
    @Flag(help: "Print the analysis as JSON (the API's shape).") var json = false

    func run() async throws {
        let logger = try logging.makeLogger(label: "streamswarm.cli")
        let backend = try store.open(logger: logger)
        guard let record = try await backend.test(TestID(test)) else {
            throw ValidationError("test \(test) does not exist (see 'streamswarm tests list')")
        }
        var options = TestAnalyzer.Options()
        options.window = try parseDuration(window, option: "--window")
        options.history = try parseDuration(history, option: "--history")
        let analysis = try await TestAnalyzer.analyze(record, store: backend, now: .now(), options: options)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(analysis), as: UTF8.self))
            return
        }
        print(Self.render(analysis))
    }

    static func render(_ a: TestAnalysis) -> String {
        var lines = [
            "test \(a.test) '\(a.name)' (\(a.kind)), window \(a.windowFrom) – \(a.windowTo)",
            "health: \(a.health.state.rawValue) (\(Int(a.health.score.rounded()))/100)",
        ]
        for factor in a.health.factors {
            lines.append("  \(factor.state.rawValue): \(factor.name) = \(Diagnosis.text(factor.value))")
        }
        for agent in a.agents {
            lines.append("")
            lines.append(
                "agent \(agent.agent): \(agent.health.state.rawValue) (\(Int(agent.health.score.rounded()))/100), \(agent.windowRuns) runs in the window, \(agent.historyRuns) before"
            )
            for factor in agent.health.factors {
                lines.append(
                    "  \(factor.state.rawValue): \(factor.name) = \(Diagnosis.text(factor.value)) — \(factor.detail)"
                )
            }
            if let band = agent.baseline {
                lines.append(
                    "  usual now: \(Diagnosis.text(band.median)) \(a.unit) (\(Diagnosis.text(band.lower))–\(Diagnosis.text(band.upper)))"
                )
            }
            lines.append("  anomalies: \(agent.anomalies.count)")
            for anomaly in agent.anomalies.suffix(5) {
                lines.append("    \(anomaly.startedAt): \(anomaly.reasons.joined(separator: "; "))")
            }
            for shift in agent.levelShifts {
                lines.append(
                    "  level shift at \(shift.at): \(Diagnosis.text(shift.before)) → \(Diagnosis.text(shift.after)) \(a.unit) (seen at \(shift.detectedAt))"
                )
            }
            if let refusal = agent.forecastRefusal {
                lines.append("  forecast: none — \(refusal)")
            } else if let next = agent.forecast.first, let last = agent.forecast.last {
                lines.append(
                    "  forecast: next hour \(Diagnosis.text(next.mean)) \(a.unit) (95%: \(Diagnosis.text(next.lower))–\(Diagnosis.text(next.upper))), in \(agent.forecast.count) h \(Diagnosis.text(last.mean)) (\(Diagnosis.text(last.lower))–\(Diagnosis.text(last.upper)))"
                )
            }
            if let s = agent.saturation {
                lines.append(
                    "  saturation: 100% in \(Diagnosis.text(s.daysUntil)) days (\(s.at)) at +\(Diagnosis.text(s.slopePerDay)) %/day"
                )
            } else if let refusal = agent.saturationRefusal {
                lines.append("  \(refusal)")
            }
            if let days = agent.certificateDaysLeft, let at = agent.certificateExpiresAt {
                lines.append("  TLS certificate expires in \(Diagnosis.text(days)) days (\(at))")
            }
            if agent.diagnosis.isEmpty {
                lines.append("  likely causes: none found")
            } else {
                lines.append("  likely causes:")
                for (rank, cause) in agent.diagnosis.enumerated() {
                    lines.append("    \(rank + 1). \(cause.title) (\(Int((cause.confidence * 100).rounded()))%)")
                    for evidence in cause.evidence { lines.append("       \(evidence)") }
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}
