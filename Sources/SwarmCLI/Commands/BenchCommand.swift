import ArgumentParser
import Foundation
import SwarmBench

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print ratios against a baseline measured in the same run.",
        subcommands: [
            MeshBenchCommand.self, ICMPBenchCommand.self, GatewayBenchCommand.self, GNMIBenchCommand.self,
            AnalyticsBenchCommand.self, ReportBenchCommand.self,
        ]
    )
}

/// This binary, for benchmarks that start its other commands (`server`, `agent`) as processes.
func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// Runs a benchmark, showing a set-up failure as a usage error (its message says what to do).
func benchRun<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let error as BenchError { throw ValidationError(error.message) }
}
