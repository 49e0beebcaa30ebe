// why: the figures are read off SwarmCore measurement records for SwarmCore alert metrics.
public import SwarmCore

/// The figure a stored run gives an alert rule, in the rule's unit.
public enum RunMetrics {
    /// The run's value for a per-run metric; nil when the run does not carry it (a latency rule
    /// on a bandwidth test, loss on an http test, a failed run's latency).
    public static func value(_ metric: AlertMetric, of row: MeasurementRecord) -> Double? {
        let features = RunFeatures(row)
        switch metric {
        case .latency: return RunFeatures.unit(of: row.kind) == "ms" && features.ok ? features.headline : nil
        case .loss: return features.lossPercent
        case .jitter: return features.jitterMs
        case .failure: return features.ok ? 0 : 1
        case .mos: return features.mos
        case .baselineDeviation, .healthScore: return nil
        }
    }

    /// The run's headline in its display unit (ms for times), for baselines.
    public static func headline(of row: MeasurementRecord) -> Double? {
        let features = RunFeatures(row)
        return features.ok ? features.headline : nil
    }
}
