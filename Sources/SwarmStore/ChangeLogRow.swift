import SwarmCore

/// A ``StoreChange`` as a row of a backend's change log: the columns both backends write and read
/// (`kind`, `test_id`, `agent_name`, `agents_json`, `count`), so a change crosses processes the
/// same way on each.
public struct ChangeLogRow: Sendable, Hashable {
    public var kind: String
    public var testID: Int64?
    public var agentName: String?
    public var agents: [String]
    public var count: Int

    /// The kinds a row can have.
    public enum Kind {
        public static let assignments = "assignments"
        public static let tests = "tests"
        public static let agent = "agent"
        public static let measurements = "measurements"
    }

    public init(kind: String, testID: Int64?, agentName: String?, agents: [String], count: Int) {
        self.kind = kind
        self.testID = testID
        self.agentName = agentName
        self.agents = agents
        self.count = count
    }

    /// A row read back: `agentsJSON` as stored. An agents list that does not decode still names
    /// the test (the agents reconcile on their next change or Hello).
    public init(kind: String, testID: Int64?, agentName: String?, agentsJSON: String, count: Int) {
        let agents = (try? StoredJSON.decode([String].self, from: agentsJSON)) ?? []
        self.init(kind: kind, testID: testID, agentName: agentName, agents: agents, count: count)
    }

    public init(_ change: StoreChange) {
        switch change {
        case .assignmentsChanged(let test, let agents):
            self.init(
                kind: Kind.assignments,
                testID: test.rawValue,
                agentName: nil,
                agents: agents.map(\.rawValue),
                count: 0
            )
        case .testsChanged:
            self.init(kind: Kind.tests, testID: nil, agentName: nil, agents: [], count: 0)
        case .agentChanged(let agent):
            self.init(kind: Kind.agent, testID: nil, agentName: agent.rawValue, agents: [], count: 0)
        case .measurementsStored(let test, let agent, let count):
            self.init(
                kind: Kind.measurements,
                testID: test.rawValue,
                agentName: agent.rawValue,
                agents: [],
                count: count
            )
        }
    }

    /// The agents column as stored.
    public var agentsJSON: String { (try? StoredJSON.encode(agents)) ?? "[]" }

    /// The change; nil for a row this version does not understand (written by a newer one), which
    /// is skipped.
    public var change: StoreChange? {
        let test = testID.map(TestID.init)
        let agent = agentName.flatMap(AgentName.init)
        switch kind {
        case Kind.assignments:
            guard let test else { return nil }
            return .assignmentsChanged(test: test, agents: agents.compactMap(AgentName.init))
        case Kind.tests:
            return .testsChanged
        case Kind.agent:
            return agent.map(StoreChange.agentChanged)
        case Kind.measurements:
            guard let test, let agent else { return nil }
            return .measurementsStored(test: test, agent: agent, count: count)
        default:
            return nil
        }
    }
}
