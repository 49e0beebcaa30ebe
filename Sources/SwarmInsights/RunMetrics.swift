// why: the figures are read off SwarmCore measurement records for SwarmCore alert metrics.
public import SwarmCore

/// The figures a stored run gives alert rules, in their units: the payload is decoded once, however
/// many rules read the run.
public struct RunMetrics: Sendable {
    private let features: RunFeatures
    private let kind: ProbeKind

    public init(_ row: MeasurementRecord) {
        features = RunFeatures(row)
        kind = row.kind
    }

    /// The run's value for a per-run metric; nil when the run does not carry it (a latency rule
    /// on a bandwidth test, loss on an http test, a failed run's latency).
    public func value(_ metric: AlertMetric) -> Double? {
        switch metric {
        case .latency: return RunFeatures.unit(of: kind) == "ms" && features.ok ? features.headline : nil
        case .loss: return features.lossPercent
        case .jitter: return features.jitterMs
        case .failure: return features.ok ? 0 : 1
        case .mos: return features.mos
        case .baselineDeviation, .healthScore: return nil
        }
    }

    /// The run's headline in its display unit (ms for times), for baselines; nil for a failed run.
    public var headline: Double? { features.ok ? features.headline : nil }
}
