// why: the report carries SwarmAnalytics' health as it is and takes a store.
public import SwarmAnalytics
public import SwarmCore
public import SwarmStore

/// The swarm's health for the dashboard: every active test analysed over the last hour against a
/// week (a shorter history than a test's own analysis, so the whole swarm stays cheap), the worst
/// test first.
public struct SwarmHealthReport: Sendable, Codable {
    public struct TestHealth: Sendable, Codable {
        public var test: Int64
        public var name: String
        public var state: HealthState
        public var score: Double
        /// The first factor that is not healthy, e.g. "a: loss_percent".
        public var worstFactor: String?
    }

    public var generatedAt: String
    public var health: Health
    public var tests: [TestHealth]
}

extension TestAnalyzer {
    /// At most this many active tests are analysed (the newest), so the dashboard stays quick.
    public static let swarmTestLimit = 200

    public static func swarm(store: any Store, now: Timestamp) async throws -> SwarmHealthReport {
        var options = Options()
        options.history = .seconds(7 * 86_400)
        options.rowLimit = 20_000
        let all = try await store.tests()
        let active = all.filter { $0.state == .active && !$0.agents.isEmpty }.sorted { $0.id > $1.id }
            .prefix(swarmTestLimit)
        var members: [(test: TestRecord, health: Health)] = []
        for test in active {
            members.append((test, try await analyze(test, tests: all, store: store, now: now, options: options).health))
        }
        members.sort { ($0.health.state, -$0.health.score) > ($1.health.state, -$1.health.score) }
        let tests = members.map { member in
            SwarmHealthReport.TestHealth(
                test: member.test.id.rawValue,
                name: member.test.spec.name,
                state: member.health.state,
                score: member.health.score,
                worstFactor: member.health.factors.first { $0.state != .healthy }?.name
            )
        }
        let health = HealthModel.aggregate(members.map { ("test \($0.test.id)", $0.health) })
        return SwarmHealthReport(generatedAt: now.iso8601, health: health, tests: tests)
    }
}
