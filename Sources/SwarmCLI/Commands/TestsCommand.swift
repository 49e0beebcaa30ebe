import ArgumentParser
import Logging
import SwarmCore
import SwarmStore

struct TestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tests",
        abstract: "Create, list, show and cancel tests.",
        subcommands: [Create.self, List.self, Show.self, Cancel.self]
    )

    struct Output: Encodable {
        var id: Int64
        var revision: Int
        var state: String
        var name: String
        var agents: [String]
        var spec: TestSpec
        var createdAt: String
        var updatedAt: String

        init(_ record: TestRecord) {
            id = record.id.rawValue
            revision = record.revision
            state = record.state.rawValue
            name = record.spec.name
            agents = record.agents.map(\.rawValue)
            spec = record.spec
            createdAt = record.createdAt.iso8601
            updatedAt = record.updatedAt.iso8601
        }
    }

    static func describe(_ spec: TestSpec) -> String {
        if !spec.target.url.isEmpty { return spec.target.url }
        if spec.target.host.isEmpty { return "(this host)" }
        return spec.target.port > 0 ? "\(spec.target.host):\(spec.target.port)" : spec.target.host
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a test and push it to its agents at once.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "Test name.") var name: String
        @Option(
            name: .customLong("kind"),
            help: "Probe kind (repeatable): \(ProbeKind.allCases.map(\.rawValue).joined(separator: ", "))."
        )
        var kinds: [String]
        @Option(help: "Target: HOST, HOST:PORT or a URL.") var target: String = ""
        @Option(name: .customLong("agent"), help: "Agent to run it (repeatable).") var agents: [String]
        @Option(help: "Time between runs (0 = once).") var interval: String = "60s"
        @Flag(help: "Mesh test: every --agent measures every other --agent's responder (udp, icmp, bandwidth...).")
        var mesh = false
        @Option(name: .customLong("pair"), help: "Mesh test pair FROM:TO: agent FROM measures agent TO (repeatable).")
        var pairs: [String] = []
        @OptionGroup(title: "Probe options") var probe: ProbeSpecOptions
        @Flag(
            name: .customLong("no-random-start"),
            help: "Start at once instead of at a random offset within one interval."
        )
        var noRandomStart = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let probeKinds = try kinds.map(ProbeSpecOptions.kind)
            var names: [AgentName] = []
            for agent in agents {
                guard let name = AgentName(agent) else {
                    throw ValidationError("--agent \(agent) is not a valid agent name")
                }
                names.append(name)
            }
            let every = try parseDuration(interval, option: "--interval")
            if mesh || !pairs.isEmpty {
                try await createMesh(kinds: probeKinds, agents: names, interval: every, logger: logger)
                return
            }
            let spec = try probe.spec(
                name: name,
                kinds: probeKinds,
                target: target,
                interval: every,
                randomStart: !noRandomStart
            )
            let record = try await store.open(logger: logger).createTest(spec, agents: names)
            if json {
                try printJSON(Output(record))
            } else {
                print(
                    "created test \(record.id) '\(record.spec.name)' for \(record.agents.map(\.rawValue).joined(separator: ", ")); agents online get it at once"
                )
            }
        }

        /// One test per ordered pair, named "NAME FROM→TO", run by FROM against TO's responder.
        func createMesh(kinds: [ProbeKind], agents: [AgentName], interval: Duration, logger: Logger) async throws {
            guard target.isEmpty else {
                throw ValidationError("a mesh test takes its targets from the agents; drop --target")
            }
            var ordered: [(AgentName, AgentName)] = []
            if mesh {
                guard agents.count >= 2 else { throw ValidationError("--mesh needs at least two --agent") }
                for from in agents { for to in agents where to != from { ordered.append((from, to)) } }
            }
            for pair in pairs {
                let parts = pair.split(separator: ":").map(String.init)
                guard parts.count == 2, let from = AgentName(parts[0]), let to = AgentName(parts[1]), from != to else {
                    throw ValidationError("--pair \(pair) is not FROM:TO with two different agent names")
                }
                ordered.append((from, to))
            }
            let backend = try store.open(logger: logger)
            var records: [TestRecord] = []
            for (from, to) in ordered {
                let spec = try probe.spec(
                    name: "\(name) \(from.rawValue)→\(to.rawValue)",
                    kinds: kinds,
                    target: "",
                    interval: interval,
                    randomStart: !noRandomStart,
                    meshPeer: to.rawValue
                )
                records.append(try await backend.createTest(spec, agents: [from]))
            }
            if json {
                try printJSON(records.map(Output.init))
            } else {
                print(
                    "created \(records.count) mesh tests '\(name) FROM→TO' (ids \(records.map { "\($0.id)" }.joined(separator: ", ")))"
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tests.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let backend = try store.open(logger: logger)
            let tests = try await backend.tests()
            if json {
                try printJSON(tests.map(Output.init))
                return
            }
            if tests.isEmpty {
                print(
                    "no tests yet: create one with 'streamswarm tests create --name NAME --kind tcp --target HOST:PORT --agent NAME'"
                )
                return
            }
            var table = TextTable(headers: [
                "ID", "NAME", "STATE", "REV", "PROBES", "TARGET", "EVERY", "AGENTS", "RESULTS",
            ])
            for test in tests {
                let count = try await backend.measurementCount(test: test.id)
                table.rows.append([
                    String(test.id.rawValue), test.spec.name, test.state.rawValue, String(test.revision),
                    test.spec.probes.map(\.rawValue).joined(separator: ","), TestsCommand.describe(test.spec),
                    test.spec.schedule.interval == .zero ? "once" : "\(test.spec.schedule.interval)",
                    test.agents.map(\.rawValue).joined(separator: ","), String(count),
                ])
            }
            print(table.render())
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one test.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Test id.") var id: Int64
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let backend = try store.open(logger: logger)
            guard let test = try await backend.test(TestID(id)) else {
                throw ValidationError("test \(id) does not exist (see 'streamswarm tests list')")
            }
            if json {
                try printJSON(Output(test))
                return
            }
            let count = try await backend.measurementCount(test: test.id)
            print(
                """
                test \(test.id): \(test.spec.name)
                  state      \(test.state.rawValue) (revision \(test.revision))
                  probes     \(test.spec.probes.map(\.rawValue).joined(separator: ", "))
                  target     \(TestsCommand.describe(test.spec))
                  schedule   every \(test.spec.schedule.interval), count \(test.spec.schedule.count), timeout \(test.spec.schedule.timeout)
                  dscp       \(test.spec.options.dscp)
                  agents     \(test.agents.map(\.rawValue).joined(separator: ", "))
                  created    \(test.createdAt.iso8601)
                  updated    \(test.updatedAt.iso8601)
                  results    \(count) (see 'streamswarm results show \(test.id)')
                """
            )
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a test: agents stop it at once; results stay."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument(help: "Test id.") var id: Int64
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let record = try await store.open(logger: logger).cancelTest(TestID(id))
            if json { try printJSON(Output(record)) } else { print("test \(id) cancelled; its results are kept") }
        }
    }
}
