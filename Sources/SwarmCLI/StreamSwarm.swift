import ArgumentParser

/// `streamswarm`: the one binary — server, agent, dev mode, operator commands and benchmarks.
@main
struct StreamSwarm: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "streamswarm",
        abstract: "Distributed network monitoring: agents measure, the server assigns tests and stores results.",
        version: version,
        subcommands: [
            DevCommand.self, ServerCommand.self, AgentCommand.self, AgentsCommand.self, TestsCommand.self,
            ResultsCommand.self, AnalyzeCommand.self, AlertsCommand.self, ReportCommand.self, ProbeCommand.self,
            ResponderCommand.self,
            BenchCommand.self,
            UsersCommand.self,
            DevicesCommand.self, RetentionCommand.self,
        ]
    )
}
