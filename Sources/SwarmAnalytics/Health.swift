/// A health score and state for an agent, a test or the whole swarm, from limits an operator
/// recognises and from what the baselines saw, always with the factors that made it.
public enum HealthState: String, Sendable, Hashable, Codable, Comparable {
    case healthy, degraded, failing

    private var rank: Int {
        switch self {
        case .healthy: 0
        case .degraded: 1
        case .failing: 2
        }
    }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

public struct HealthFactor: Sendable, Hashable, Codable {
    /// Stable key, e.g. "one_way_delay".
    public var name: String
    public var value: Double
    public var state: HealthState
    /// What the value is measured against, in words ("ITU-T G.114: up to 150 ms one way is fine").
    public var detail: String

    public init(name: String, value: Double, state: HealthState, detail: String) {
        self.name = name
        self.value = value
        self.state = state
        self.detail = detail
    }
}

public struct Health: Sendable, Hashable, Codable {
    /// 0–100; 100 when every factor is healthy.
    public var score: Double
    public var state: HealthState
    /// Every factor that was assessed, worst first.
    public var factors: [HealthFactor]
}

/// What a health assessment looks at; nil means "not measured here" and is left out.
public struct HealthInput: Sendable, Hashable {
    /// Median round-trip time of the window, ms (one-way delay is taken as half of it).
    public var rttMs: Double?
    public var lossPercent: Double?
    /// E-model MOS (udp voice view).
    public var mos: Double?
    public var certificateDaysLeft: Double?
    /// Share of the window's runs that did not succeed, 0–1.
    public var failureFraction: Double?
    /// Share of the window's runs that scored as anomalies, 0–1.
    public var anomalyFraction: Double?
    /// Level shifts detected in the window.
    public var changePoints: Int = 0
    /// Runs in the window (nil: not counted); none at all is failing.
    public var runs: Int?
    /// The window's median against the seasonal baseline, in robust standard deviations.
    public var baselineScore: Double?

    public init() {}
}

public enum HealthModel {
    /// Points taken off the score by a degraded and by a failing factor.
    public static let degradedPenalty = 20.0
    public static let failingPenalty = 50.0

    public static func assess(_ input: HealthInput) -> Health {
        var factors: [HealthFactor] = []
        func add(_ name: String, _ value: Double?, degradedAt: Double, failingAt: Double, _ detail: String) {
            guard let value, value.isFinite else { return }
            let state: HealthState = value >= failingAt ? .failing : value >= degradedAt ? .degraded : .healthy
            factors.append(HealthFactor(name: name, value: value, state: state, detail: detail))
        }
        add(
            "one_way_delay_ms",
            input.rttMs.map { $0 / 2 },
            degradedAt: 150,
            failingAt: 400,
            "ITU-T G.114: one-way delay up to 150 ms is fine for voice, above 400 ms unacceptable (half the RTT)"
        )
        add(
            "loss_percent",
            input.lossPercent,
            degradedAt: 1,
            failingAt: 5,
            "packet loss: 1% is noticeable, 5% breaks calls"
        )
        add(
            "failed_runs_percent",
            input.failureFraction.map { $0 * 100 },
            degradedAt: 1,
            failingAt: 10,
            "runs that did not succeed (availability)"
        )
        add(
            "anomalous_runs_percent",
            input.anomalyFraction.map { $0 * 100 },
            degradedAt: 5,
            failingAt: 25,
            "runs the Isolation Forest and the baseline scored as anomalies"
        )
        add(
            "baseline_deviation",
            input.baselineScore.map(abs),
            degradedAt: 3,
            failingAt: 6,
            "distance of the window's median from the usual value at this hour of the week (robust sigmas)"
        )
        if let mos = input.mos, mos.isFinite {
            let state: HealthState = mos < 3.6 ? .failing : mos < 4.0 ? .degraded : .healthy
            factors.append(
                HealthFactor(
                    name: "mos",
                    value: mos,
                    state: state,
                    detail: "ITU-T G.107 E-model: MOS 4.0 or more satisfies users, under 3.6 many are dissatisfied"
                )
            )
        }
        if let days = input.certificateDaysLeft, days.isFinite {
            let state: HealthState = days < 7 ? .failing : days < 30 ? .degraded : .healthy
            factors.append(
                HealthFactor(
                    name: "certificate_days_left",
                    value: days,
                    state: state,
                    detail: days <= 0
                        ? "the TLS certificate has expired" : "TLS certificate: renew before 30 days, 7 is urgent"
                )
            )
        }
        if input.runs == 0 {
            factors.append(
                HealthFactor(
                    name: "runs_in_window",
                    value: 0,
                    state: .failing,
                    detail: "no results in the window: is the agent online and the test running?"
                )
            )
        }
        if input.changePoints > 0 {
            factors.append(
                HealthFactor(
                    name: "level_shifts",
                    value: Double(input.changePoints),
                    state: .degraded,
                    detail: "the series changed level (a path or capacity change?)"
                )
            )
        }
        return combine(factors)
    }

    /// The health of a group (the swarm, or a test over its agents): the worst member decides the
    /// state, the score is the mean, and the factors are the members' non-healthy ones.
    public static func aggregate(_ members: [(name: String, health: Health)]) -> Health {
        guard !members.isEmpty else { return Health(score: 100, state: .healthy, factors: []) }
        let score = members.map(\.health.score).reduce(0, +) / Double(members.count)
        let state = members.map(\.health.state).max() ?? .healthy
        let factors = members.flatMap { member in
            member.health.factors.filter { $0.state != .healthy }.map {
                HealthFactor(name: "\(member.name): \($0.name)", value: $0.value, state: $0.state, detail: $0.detail)
            }
        }
        return Health(score: score, state: state, factors: factors.sorted { $0.state > $1.state })
    }

    private static func combine(_ factors: [HealthFactor]) -> Health {
        let penalty = factors.reduce(0.0) { total, factor in
            total + (factor.state == .failing ? failingPenalty : factor.state == .degraded ? degradedPenalty : 0)
        }
        let state = factors.map(\.state).max() ?? .healthy
        return Health(score: max(0, 100 - penalty), state: state, factors: factors.sorted { $0.state > $1.state })
    }
}
