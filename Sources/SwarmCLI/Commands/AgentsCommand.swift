import ArgumentParser
import Foundation
import SwarmCore
import SwarmStore

struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "Agents known to the server.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List agents with online state, last heartbeat and host facts."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            var name: String
            var online: Bool
            var lastSeen: String?
            var wentOfflineAt: String?
            var version: String
            var host: HostFacts?
            var load: LoadSnapshot?
        }

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let agents = try await store.open(logger: logger).agents()
            if json {
                try printJSON(
                    agents.map {
                        Row(
                            name: $0.name.rawValue,
                            online: $0.online,
                            lastSeen: $0.lastSeen?.iso8601,
                            wentOfflineAt: $0.wentOfflineAt?.iso8601,
                            version: $0.agentVersion,
                            host: $0.host,
                            load: $0.load
                        )
                    }
                )
                return
            }
            if agents.isEmpty {
                print("no agents yet: start one with 'streamswarm agent' (or run 'streamswarm dev')")
                return
            }
            var table = TextTable(headers: [
                "AGENT", "STATE", "LAST SEEN", "VERSION", "HOST", "KERNEL", "CPUS", "SPOOL",
            ])
            for agent in agents {
                var state =
                    agent.online ? "online" : (agent.wentOfflineAt.map { "offline since \($0.iso8601)" } ?? "offline")
                // A server that crashed cannot mark its agents offline: distrust an old "online".
                if agent.online, let seen = agent.lastSeen, (Timestamp.now() - seen) > .seconds(120) {
                    state = "unknown (no heartbeat stored for \(ago(seen).replacingOccurrences(of: " ago", with: "")))"
                }
                table.rows.append([
                    agent.name.rawValue, state, ago(agent.lastSeen), agent.agentVersion, agent.host?.hostname ?? "-",
                    agent.host?.kernel ?? "-", agent.host.map { String($0.cpuCount) } ?? "-",
                    agent.load.map { String($0.spoolDepth) } ?? "-",
                ])
            }
            print(table.render())
        }
    }
}
