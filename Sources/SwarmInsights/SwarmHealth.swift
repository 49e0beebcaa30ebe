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
        let active = try await store.tests().filter { $0.state == .active && !$0.agents.isEmpty }
            .sorted { $0.id > $1.id }.prefix(swarmTestLimit)
        var tests: [SwarmHealthReport.TestHealth] = []
        for test in active {
            let analysis = try await analyze(test, store: store, now: now, options: options)
            tests.append(
                .init(
                    test: test.id.rawValue,
                    name: test.spec.name,
                    state: analysis.health.state,
                    score: analysis.health.score,
                    worstFactor: analysis.health.factors.first { $0.state != .healthy }?.name
                )
            )
        }
        tests.sort { ($0.state, -$0.score) > ($1.state, -$1.score) }
        let health = HealthModel.aggregate(
            tests.map { test in
                (
                    "test \(test.test)",
                    Health(
                        score: test.score,
                        state: test.state,
                        factors: test.worstFactor.map {
                            [HealthFactor(name: $0, value: test.score, state: test.state, detail: test.name)]
                        } ?? []
                    )
                )
            }
        )
        return SwarmHealthReport(generatedAt: now.iso8601, health: health, tests: tests)
    }
}
