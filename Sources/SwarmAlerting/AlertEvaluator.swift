// why: the evaluator is built from a Store and a Logger.
public import Logging
import SwarmAnalytics
import SwarmCore
import SwarmInsights
public import SwarmStore

/// Evaluates the alert rules as results arrive: each stored run of a watched (test, agent) feeds
/// one ``AlertTracker`` per matching rule, health rules are evaluated on a timer, and every raise
/// or clear is written to the store with its notifications (the ``NotificationDispatcher`` sends
/// them). Run it on one server only (a `SingletonJob`): the store refuses a second open alert for
/// one rule and scope, so even a lease handover cannot raise one twice.
public actor AlertEvaluator {
    public struct Options: Sendable {
        /// How often health rules are evaluated.
        public var healthInterval: Duration = .seconds(60)
        /// How often rules and channels are re-read (edits take effect within this).
        public var ruleRefresh: Duration = .seconds(5)
        /// What a baseline-deviation rule learns "usual" from, and how often it relearns.
        public var baselineHistory: Duration = .seconds(7 * 86_400)
        public var baselineRefresh: Duration = .seconds(3600)
        /// Called once the rules and open alerts are loaded and stored runs are being watched.
        public var ready: @Sendable () -> Void = {}
        public init() {}
    }

    struct Key: Hashable {
        var rule: Int64
        var test: TestID
        var agent: AgentName?
    }

    struct Series: Hashable {
        var test: TestID
        var agent: AgentName
    }

    struct Tracked {
        var tracker: AlertTracker
        var alertID: Int64?
        var last: Double = .nan
    }

    private let store: any Store
    private let logger: Logger
    private let options: Options
    private var rules: [Int64: AlertRuleRecord] = [:]
    private var channelIDs: [String: Int64] = [:]
    private var trackers: [Key: Tracked] = [:]
    /// The newest run seen per series: the next read starts after it.
    private var cursors: [Series: Timestamp] = [:]
    private var baselines: [Series: (baseline: SeasonalBaseline, learnedAt: Timestamp)] = [:]

    public init(store: any Store, logger: Logger, options: Options = Options()) {
        self.store = store
        self.logger = logger
        self.options = options
    }

    /// Evaluates until cancelled. Store failures are logged and retried on the next change or tick.
    public func run() async throws {
        let changes = store.changes.subscribe()
        try await loadOpenAlerts()
        await refreshRules()
        options.ready()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await change in changes {
                    guard case .measurementsStored(let test, let agent, _) = change else { continue }
                    await self.evaluateRuns(of: Series(test: test, agent: agent), now: .now())
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: self.options.ruleRefresh) } catch { return }
                    await self.refreshRules()
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: self.options.healthInterval) } catch { return }
                    await self.evaluateHealth(now: .now())
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    // MARK: - Rules

    /// Open alerts become firing trackers, so a new evaluator clears them, never raises them again.
    private func loadOpenAlerts() async throws {
        let rules = Dictionary(uniqueKeysWithValues: try await store.alertRules().map { ($0.id, $0) })
        for alert in try await store.alerts(AlertQuery(openOnly: true, limit: 1000)) {
            guard let id = alert.ruleID, let rule = rules[id], let test = alert.test else { continue }
            trackers[Key(rule: id, test: test, agent: alert.agent)] = Tracked(
                tracker: AlertTracker(condition: rule.spec.condition, state: .firing),
                alertID: alert.id,
                last: alert.raisedValue
            )
        }
    }

    func refreshRules() async {
        let fresh: [AlertRuleRecord]
        do {
            fresh = try await store.alertRules()
            channelIDs = Dictionary(try await store.alertChannels().map { ($0.spec.name, $0.id) }) { first, _ in first }
        } catch {
            guard !Task.isCancelled else { return }
            logger.warning("alerting: could not read the rules (evaluation goes on with the last ones): \(error)")
            return
        }
        let enabled = Dictionary(uniqueKeysWithValues: fresh.filter(\.spec.enabled).map { ($0.id, $0) })
        for (key, tracked) in trackers {
            guard let rule = enabled[key.rule] else {
                // Deleted (the store cleared its alerts) or disabled (clear them here, silently).
                if let id = tracked.alertID, fresh.contains(where: { $0.id == key.rule }) {
                    _ = try? await store.clearAlert(id, at: .now(), value: tracked.last, notify: [])
                }
                trackers[key] = nil
                continue
            }
            if rule.updatedAt != rules[key.rule]?.updatedAt, rules[key.rule] != nil {
                // Edited: the new condition starts from the current state.
                trackers[key]?.tracker = AlertTracker(condition: rule.spec.condition, state: tracked.tracker.state)
            }
        }
        rules = enabled
    }

    private func matches(_ rule: AlertRuleRecord, _ series: Series) -> Bool {
        rule.spec.metric.perRun && (rule.spec.test == nil || rule.spec.test == series.test)
            && (rule.spec.agent == nil || rule.spec.agent == series.agent)
    }

    // MARK: - Per-run rules

    func evaluateRuns(of series: Series, now: Timestamp) async {
        let watching = rules.values.filter { matches($0, series) }.sorted { $0.id < $1.id }
        guard !watching.isEmpty else { return }
        let rows: [MeasurementRecord]
        do {
            if let cursor = cursors[series] {
                rows = try await store.measurements(
                    test: series.test,
                    agent: series.agent,
                    range: TimeRange(from: cursor + .nanoseconds(1), to: now + .seconds(86_400)),
                    limit: 1000
                )
            } else {
                // First sight: the last m runs, so "n of the last m" holds from the start.
                let m = watching.map(\.spec.condition.m).max() ?? 1
                rows = try await store.measurements(
                    test: series.test,
                    agent: series.agent,
                    range: TimeRange(from: now - .seconds(86_400), to: now + .seconds(86_400)),
                    limit: m,
                    newestFirst: true
                ).reversed()
            }
        } catch {
            logger.warning("alerting: could not read results of test \(series.test) on \(series.agent): \(error)")
            return
        }
        guard let newest = rows.last?.startedAt else { return }
        cursors[series] = max(newest, cursors[series] ?? newest)
        let baseline =
            watching.contains { $0.spec.metric == .baselineDeviation } ? await baseline(of: series, now) : nil
        for row in rows {
            let metrics = RunMetrics(row)
            for rule in watching {
                let value: Double?
                if rule.spec.metric == .baselineDeviation {
                    value = metrics.headline.flatMap { baseline?.score($0, at: row.startedAt) }
                } else {
                    value = metrics.value(rule.spec.metric)
                }
                guard let value else { continue }
                await observe(
                    value,
                    rule: rule,
                    key: Key(rule: rule.id, test: series.test, agent: series.agent),
                    at: row.startedAt
                )
            }
        }
    }

    /// The series' seasonal baseline from the history before the last hour, relearned hourly.
    private func baseline(of series: Series, _ now: Timestamp) async -> SeasonalBaseline? {
        if let cached = baselines[series], now - cached.learnedAt < options.baselineRefresh { return cached.baseline }
        do {
            let history = try await store.measurements(
                test: series.test,
                agent: series.agent,
                range: TimeRange(from: now - options.baselineHistory, to: now - .seconds(3600)),
                limit: 50_000
            )
            let points = history.compactMap { row in RunMetrics(row).headline.map { (row.startedAt, $0) } }
            let baseline = SeasonalBaseline(times: points.map(\.0), values: points.map(\.1))
            baselines[series] = (baseline, now)
            return baseline
        } catch {
            logger.warning("alerting: could not learn the baseline of test \(series.test) on \(series.agent): \(error)")
            return baselines[series]?.baseline
        }
    }

    // MARK: - Health rules

    func evaluateHealth(now: Timestamp) async {
        let healthRules = rules.values.filter { $0.spec.metric == .healthScore }.sorted { $0.id < $1.id }
        guard !healthRules.isEmpty else { return }
        let tests: [TestRecord]
        do { tests = try await store.tests().filter { $0.state == .active } } catch {
            logger.warning("alerting: could not read the tests for health rules: \(error)")
            return
        }
        var scores: [TestID: Double] = [:]
        for rule in healthRules {
            for test in tests where rule.spec.test == nil || rule.spec.test == test.id {
                if scores[test.id] == nil {
                    var analysisOptions = TestAnalyzer.Options()
                    analysisOptions.history = options.baselineHistory
                    do {
                        scores[test.id] = try await TestAnalyzer.analyze(
                            test,
                            store: store,
                            now: now,
                            options: analysisOptions
                        ).health.score
                    } catch {
                        logger.warning(
                            "alerting: could not analyse test \(test.id) for rule \(rule.spec.name): \(error)"
                        )
                        continue
                    }
                }
                guard let score = scores[test.id] else { continue }
                await observe(score, rule: rule, key: Key(rule: rule.id, test: test.id, agent: nil), at: now)
            }
        }
    }

    // MARK: - Transitions

    private func observe(_ value: Double, rule: AlertRuleRecord, key: Key, at: Timestamp) async {
        var tracked = trackers[key] ?? Tracked(tracker: AlertTracker(condition: rule.spec.condition))
        tracked.last = value
        let transition = tracked.tracker.observe(value)
        trackers[key] = tracked
        switch transition {
        case .raised?: await raise(rule, key, value: value, at: at)
        case .cleared?: await clear(rule, key, value: value, at: at)
        case nil: break
        }
    }

    private func raise(_ rule: AlertRuleRecord, _ key: Key, value: Double, at: Timestamp) async {
        let spec = rule.spec
        let silenced = await isSilenced(spec.name, key, at: at)
        let message = await AlertMessage.raised(
            rule: spec,
            test: key.test,
            agent: key.agent,
            value: value,
            store: store,
            at: at
        )
        let alert = AlertRecord(
            ruleID: rule.id,
            ruleName: spec.name,
            metric: spec.metric,
            severity: spec.severity,
            test: key.test,
            agent: key.agent,
            raisedAt: at,
            raisedValue: value,
            message: message,
            silenced: silenced
        )
        do {
            let stored = try await store.raiseAlert(alert, notify: silenced ? [] : channels(of: spec))
            trackers[key]?.alertID = stored.id
            logger.notice("alert raised: \(message)")
        } catch let error as StoreError where error.code == .conflict {
            // Raised already (by the evaluator before a handover): take that alert on.
            let open = try? await store.alerts(AlertQuery(openOnly: true, test: key.test, limit: 1000))
            trackers[key]?.alertID = open?.first { $0.ruleID == rule.id && $0.agent == key.agent }?.id
        } catch {
            // Not stored: forget the raise, so the next bad value raises it again.
            trackers[key] = Tracked(tracker: AlertTracker(condition: spec.condition))
            logger.error(
                "alerting: could not store the alert '\(message)' (raised again on the next bad value): \(error)"
            )
        }
    }

    private func clear(_ rule: AlertRuleRecord, _ key: Key, value: Double, at: Timestamp) async {
        guard let id = trackers[key]?.alertID else { return }
        do {
            let alert = try await store.alert(id)
            let silenced = (alert?.silenced ?? false) ? true : await isSilenced(rule.spec.name, key, at: at)
            let cleared = try await store.clearAlert(
                id,
                at: at,
                value: value,
                notify: silenced ? [] : channels(of: rule.spec)
            )
            trackers[key]?.alertID = nil
            logger.notice("alert cleared: \(cleared.clearedMessage(value: value))")
        } catch {
            // Still open in the store: stay firing, so the next good value clears it.
            trackers[key]?.tracker = AlertTracker(condition: rule.spec.condition, state: .firing)
            logger.error("alerting: could not clear alert \(id) (cleared again on the next good value): \(error)")
        }
    }

    private func channels(of spec: AlertRuleSpec) -> [Int64] {
        spec.channels.compactMap { channelIDs[$0] }
    }

    private func isSilenced(_ rule: String, _ key: Key, at: Timestamp) async -> Bool {
        guard let silences = try? await store.silences(activeAt: at) else { return false }
        return silences.contains {
            $0.matcher.covers(
                rule: rule,
                test: key.test.rawValue,
                agent: key.agent?.rawValue ?? "",
                atUnixNanos: at.unixNanos
            )
        }
    }
}
