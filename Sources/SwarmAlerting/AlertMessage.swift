import SwarmAnalytics
import SwarmCore
import SwarmInsights
import SwarmStore

/// The words of an alert: what crossed which level where, and the likeliest cause with its numbers.
enum AlertMessage {
    static func raised(
        rule: AlertRuleSpec,
        test: TestID,
        agent: AgentName?,
        value: Double,
        store: any Store,
        at: Timestamp
    ) async -> String {
        let c = rule.condition
        let record = try? await store.test(test)
        let scope = "test \(test)\(record.map { " (\($0.spec.name))" } ?? "")\(agent.map { " on agent \($0)" } ?? "")"
        var message =
            "\(rule.name): \(rule.metric.rawValue) \(Diagnosis.text(value)) \(rule.metric.unit) for \(scope); "
            + "\(c.n) of the last \(c.m) values \(c.comparison.rawValue) \(Diagnosis.text(c.raise))"
        if let record, let cause = await likelyCause(record, agent: agent, runs: c.m, store: store, at: at) {
            message += ". Likely cause: \(cause.title)"
            if let evidence = cause.evidence.first { message += " (\(evidence))" }
        }
        return message
    }

    /// The top-ranked cause over the window of the last m + 1 runs (at least 10 s), where the
    /// change that raised the alert is, against the history before it.
    static func likelyCause(
        _ test: TestRecord,
        agent: AgentName?,
        runs: Int,
        store: any Store,
        at: Timestamp
    ) async -> Diagnosis.Cause? {
        var options = TestAnalyzer.Options()
        options.window = max(.seconds(10), test.spec.schedule.interval * (runs + 1))
        options.history = .seconds(7 * 86_400)
        options.forecastHours = 0
        guard let analysis = try? await TestAnalyzer.analyze(test, store: store, now: at, options: options) else {
            return nil
        }
        let agents = analysis.agents.filter { agent == nil || $0.agent == agent?.rawValue }
        return agents.compactMap(\.diagnosis.first).max { $0.confidence < $1.confidence }
    }
}
