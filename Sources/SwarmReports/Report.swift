// why: the report carries SwarmAnalytics' health and causes, and SwarmCore's ids and times.
public import SwarmAnalytics
public import SwarmCore

/// Everything a report shows, read from the store before anything is drawn: the renderer only
/// lays this out, so the figures in the PDF are exactly these.
public struct Report: Sendable {
    /// A figure for the summary: "latency p50", "12.4 ms".
    public struct Figure: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    /// One chart bucket of a test (all its agents merged): the percentile band and loss.
    public struct Bucket: Sendable, Hashable {
        public var start: Timestamp
        public var count: Int
        public var okCount: Int
        public var avg: Double?
        public var p50: Double?
        public var p90: Double?
        public var p99: Double?
        public var min: Double?
        public var max: Double?
        public var lossPercent: Double?
    }

    public struct AgentFigures: Sendable, Hashable {
        public var agent: String
        public var runs: Int
        public var availabilityPercent: Double?
        public var p50: Double?
        public var lossPercent: Double?
    }

    /// One device's CPU over the period (its gNMI rollups).
    public struct DeviceSeries: Sendable, Hashable {
        public struct Point: Sendable, Hashable {
            public var start: Timestamp
            public var value: Double
        }
        public var device: String
        public var points: [Point]
    }

    public struct TestSection: Sendable, Hashable {
        public var id: TestID
        public var name: String
        public var kind: ProbeKind
        public var target: String
        /// The headline's unit as charts show it ("ms", "%", "Mbit/s", "hops", "bytes").
        public var unit: String
        public var bucketSeconds: Int64
        public var resolution: String
        public var buckets: [Bucket]
        public var figures: [Figure]
        public var agents: [AgentFigures]
        /// Buckets where a traceroute test to the same target saw the hop count change.
        public var pathChanges: [Timestamp]
        /// Level shifts of the headline across the period's buckets.
        public var levelShifts: [Timestamp]
        public var health: Health?
    }

    /// An alert of the period.
    public struct Incident: Sendable, Hashable {
        public var raisedAt: Timestamp
        public var clearedAt: Timestamp?
        public var severity: String
        public var rule: String
        public var scope: String
        public var message: String
    }

    /// The diagnosis of one test on one agent: over the end of the period, or over an alert.
    public struct Finding: Sendable, Hashable {
        /// "at the end of the period (last 1 h)" or "while 'core latency' was raised (12:05–12:40 UTC)".
        public var context: String
        public var test: String
        public var agent: String
        public var health: Health
        public var causes: [Diagnosis.Cause]
        public var anomalies: Int
        public var saturationDays: Double?
        public var certificateDaysLeft: Double?
    }

    public var title: String
    public var request: ReportRequest
    public var scopeDescription: String
    public var generatedAt: Timestamp
    public var health: Health?
    public var figures: [Figure]
    public var sections: [TestSection]
    /// Tests in scope with data that are summarised but not charted (the charted ones are the worst).
    public var uncharted: [String]
    public var incidents: [Incident]
    /// Alerts of the period beyond those listed.
    public var moreIncidents: Int
    /// How far back the findings look: the end of the period.
    public var findingsWindow: Duration
    public var findings: [Finding]
    public var recommendations: [String]
    public var devices: [DeviceSeries]
}
