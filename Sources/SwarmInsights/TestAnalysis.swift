// why: the report carries SwarmAnalytics' health and causes as they are.
public import SwarmAnalytics

/// What `streamswarm analyze`, the API and the UI show for a test: health per agent and for the
/// test, the anomalies and level shifts of the window, a forecast (or why there is none), and the
/// ranked likely causes when it got worse.
public struct TestAnalysis: Sendable, Codable {
    public struct Anomaly: Sendable, Codable, Hashable {
        public var startedAt: String
        public var value: Double?
        /// Robust standard deviations from the usual value at that hour of the week.
        public var baselineScore: Double?
        /// The Isolation Forest's score of the run (0–1; high is unusual).
        public var forestScore: Double?
        public var reasons: [String]
    }

    public struct LevelShift: Sendable, Codable, Hashable {
        public var at: String
        public var detectedAt: String
        public var before: Double
        public var after: Double
    }

    public struct ForecastPoint: Sendable, Codable, Hashable {
        public var at: String
        public var mean: Double
        public var lower: Double
        public var upper: Double
    }

    public struct Band: Sendable, Codable, Hashable {
        public var median: Double
        public var lower: Double
        public var upper: Double
    }

    /// A run's headline, for the chart.
    public struct Point: Sendable, Codable, Hashable {
        public var at: String
        public var value: Double
    }

    /// The usual range at a time (the hour of the week's median ± 3 robust sigmas), for the chart.
    public struct BandPoint: Sendable, Codable, Hashable {
        public var at: String
        public var median: Double
        public var lower: Double
        public var upper: Double
    }

    /// When a "%" figure reaches 100% at its current trend.
    public struct Saturation: Sendable, Codable, Hashable {
        public var daysUntil: Double
        public var at: String
        public var slopePerDay: Double
        /// The trend line's value now.
        public var level: Double
    }

    public struct AgentAnalysis: Sendable, Codable {
        public var agent: String
        /// Runs in the history and in the window.
        public var historyRuns: Int
        public var windowRuns: Int
        public var health: Health
        /// The usual range (median ± 3 robust sigmas) at the current hour of the week.
        public var baseline: Band?
        public var anomalies: [Anomaly]
        public var levelShifts: [LevelShift]
        /// Hourly forecast of the headline figure with 95% intervals; empty with `forecastRefusal`.
        public var forecast: [ForecastPoint]
        public var forecastRefusal: String?
        public var diagnosis: [Diagnosis.Cause]
        /// The window's runs (at most 1,000, evenly sampled), drawn under the overlays.
        public var recent: [Point] = []
        /// The baseline band every hour from the window's start to the forecast's end.
        public var baselineBand: [BandPoint] = []
        /// "%" figures (a link's or a host's utilisation, from hourly means of the whole history):
        /// when 100% is reached at the current trend; or why that cannot be said.
        public var saturation: Saturation?
        public var saturationRefusal: String?
        /// http: the TLS certificate's days left at the newest run, and when it expires.
        public var certificateDaysLeft: Double?
        public var certificateExpiresAt: String?
    }

    public var test: Int64
    public var name: String
    public var kind: String
    /// The unit of the headline figure ("ms", "%", "Mbit/s", ...).
    public var unit: String
    public var windowFrom: String
    public var windowTo: String
    public var generatedAt: String
    public var health: Health
    public var agents: [AgentAnalysis]
}
