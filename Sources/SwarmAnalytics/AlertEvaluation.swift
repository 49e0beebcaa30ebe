// why: a tracker holds its rule's SwarmCore AlertCondition.
public import SwarmCore

/// One rule's state for one scope (a test on an agent, a test, the swarm).
public struct AlertTracker: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable { case ok, firing }
    public enum Transition: String, Sendable, Hashable, Codable { case raised, cleared }

    public let condition: AlertCondition
    public private(set) var state: State = .ok
    /// The last `m` values' verdicts, oldest first: bad, good, or neither (between the levels).
    private var recent: [Verdict] = []

    private enum Verdict: Sendable, Hashable, Codable { case bad, good, between }

    /// A tracker in `state`: `.firing` for an alert still open in the store when evaluation
    /// moves to another server, so it clears only after `n` good values and never raises twice.
    public init(condition: AlertCondition, state: State = .ok) {
        self.condition = condition
        self.state = state
    }

    /// Takes the next value; returns the transition it caused, if any.
    public mutating func observe(_ value: Double) -> Transition? {
        guard value.isFinite else { return nil }
        let verdict: Verdict = condition.isBad(value) ? .bad : condition.isGood(value) ? .good : .between
        recent.append(verdict)
        if recent.count > condition.m { recent.removeFirst(recent.count - condition.m) }
        switch state {
        case .ok where recent.filter({ $0 == .bad }).count >= condition.n:
            state = .firing
            return .raised
        case .firing where recent.filter({ $0 == .good }).count >= condition.n:
            state = .ok
            return .cleared
        default:
            return nil
        }
    }
}
