import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print ratios against a baseline measured in the same run.",
        subcommands: [MeshBenchCommand.self, ICMPBenchCommand.self, GatewayBenchCommand.self, GNMIBenchCommand.self]
    )
}
