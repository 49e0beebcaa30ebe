import ArgumentParser
import Foundation
import SwarmCore
import SwarmGateway
import SwarmStore
import SwarmWire

struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Read stored measurements.",
        subcommands: [Show.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measurements of a test, oldest first.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Test id.") var test: Int64
        @Option(help: "Only this agent.") var agent: String?
        @Option(help: "Only the last DURATION (e.g. 15m, 24h).") var since: String?
        @Option(help: "At most this many rows (the newest are shown).") var limit: Int = 50
        @Flag(help: "Print JSON (results in the proto3 JSON mapping).") var json = false

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let backend = try store.open(logger: logger)
            guard try await backend.test(TestID(test)) != nil else {
                throw ValidationError("test \(test) does not exist (see 'streamswarm tests list')")
            }
            var agentName: AgentName?
            if let agent {
                guard let name = AgentName(agent) else {
                    throw ValidationError("--agent \(agent) is not a valid agent name")
                }
                agentName = name
            }
            var range = TimeRange.all
            if let since { range.from = Timestamp.now() - (try parseDuration(since, option: "--since")) }
            // Only the newest `limit` rows are read, then shown oldest first.
            let rows = Array(
                try await backend.measurements(
                    test: TestID(test),
                    agent: agentName,
                    range: range,
                    limit: max(1, limit),
                    newestFirst: true
                ).reversed()
            )
            if json {
                // The gateway's shape, so scripts read the same JSON from the CLI and the API.
                print(String(decoding: try MeasurementJSON.encode(rows), as: UTF8.self))
                return
            }
            if rows.isEmpty {
                print("no results for test \(test) yet (agents report every interval; check 'streamswarm agents list')")
                return
            }
            var table = TextTable(headers: ["TIME (UTC)", "AGENT", "KIND", "STATUS", "VALUE", "DETAIL"])
            for row in rows {
                table.rows.append([
                    row.startedAt.iso8601, row.agent.rawValue, row.kind.rawValue, row.status.rawValue,
                    Self.value(row), row.status == .ok ? Self.detail(row) : row.reason,
                ])
            }
            print(table.render())
            if rows.count == max(1, limit) {
                print("(the newest \(rows.count) rows; older ones may exist: use --limit or --since)")
            }
        }

        static func value(_ row: MeasurementRecord) -> String {
            guard let value = row.value else { return "-" }
            switch row.kind {
            case .tcp, .icmp, .udp, .dns, .http: return String(format: "%.3f ms", value / 1000)
            case .system: return String(format: "cpu %.1f%%", value)
            default: return String(format: "%.2f", value)
            }
        }

        static func detail(_ row: MeasurementRecord) -> String {
            if row.kind == .tcp, let tcp = try? MeasurementEncoding.decodeTCP(row.payload) {
                var parts = ["\(tcp.address):\(tcp.port)", tcp.outcome.rawValue]
                if let info = tcp.info {
                    parts.append("rtt \(Double(info.rttMicros) / 1000) ms")
                    parts.append("cwnd \(info.sndCwnd)")
                    parts.append("mss \(info.sndMss)")
                }
                if !tcp.congestionControl.isEmpty { parts.append(tcp.congestionControl) }
                return parts.joined(separator: " ")
            }
            return MeasurementEncoding.summary(kind: row.kind, payload: row.payload)
        }
    }
}
