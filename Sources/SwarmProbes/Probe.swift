// why: the Probe protocol's requirements are expressed in SwarmCore types.
public import SwarmCore

/// What a probe run needs to know.
public struct ProbeContext: Sendable {
    public var testID: TestID
    public var revision: Int
    public var spec: TestSpec
    /// The swarm's responder key, for probes that measure against a responder (udp, bandwidth).
    public var responderKey: ResponderKey?

    public init(testID: TestID, revision: Int, spec: TestSpec, responderKey: ResponderKey? = nil) {
        self.testID = testID
        self.revision = revision
        self.spec = spec
        self.responderKey = responderKey
    }

    /// An observation for this run with the given outcome; probes fill in `result`.
    public func observation(
        kind: ProbeKind,
        startedAt: Timestamp,
        duration: Duration,
        status: MeasurementStatus,
        reason: String = "",
        result: ProbeResult? = nil
    ) -> ProbeObservation {
        ProbeObservation(
            testID: testID,
            revision: revision,
            kind: kind,
            startedAt: startedAt,
            duration: duration,
            status: status,
            reason: reason,
            result: result
        )
    }
}

/// One probe run in progress: its start time and clock, so every exit path reports the same start
/// and the duration up to that exit.
public struct ProbeRunClock: Sendable {
    let context: ProbeContext
    let kind: ProbeKind
    let startedAt = Timestamp.now()
    let began = ContinuousClock.now

    /// The observation for this run, ending now.
    func finish(_ status: MeasurementStatus, _ reason: String = "", _ result: ProbeResult? = nil) -> ProbeObservation {
        context.observation(
            kind: kind,
            startedAt: startedAt,
            duration: ContinuousClock.now - began,
            status: status,
            reason: reason,
            result: result
        )
    }
}

extension ProbeContext {
    /// Starts timing a run of `kind`.
    func start(_ kind: ProbeKind) -> ProbeRunClock { ProbeRunClock(context: self, kind: kind) }

    /// Why a responder probe cannot run without the swarm's key, and where the key comes from.
    static func missingResponderKey(_ kind: ProbeKind) -> String {
        "\(kind): no responder key — agents receive it from the server; for `streamswarm probe` pass "
            + "--key-file or set STREAMSWARM_RESPONDER_KEY"
    }
}

/// One kind of measurement. An instance lives as long as the test that uses it, so a probe may keep
/// state between runs (the system probe keeps its previous counters to compute rates).
///
/// `run` never throws: a failure is itself an observation with a status and a reason, so the
/// operator sees why a run produced no figures.
public protocol Probe: Sendable {
    static var kind: ProbeKind { get }
    init()
    func run(_ context: ProbeContext) async -> ProbeObservation
}

/// The probe kinds this build can run. Adding a probe is one new type plus one entry here.
public enum ProbeCatalog {
    public static let probes: [any Probe.Type] = [
        ICMPProbe.self, UDPProbe.self, TCPProbe.self, DNSProbe.self, HTTPProbe.self, TracerouteProbe.self,
        MTUProbe.self,
        BandwidthProbe.self, SystemProbe.self,
    ]

    public static var kinds: [ProbeKind] { probes.map { $0.kind } }

    /// A fresh probe for `kind`, or nil when this build cannot run it.
    public static func make(_ kind: ProbeKind) -> (any Probe)? {
        probes.first { $0.kind == kind }.map { $0.init() }
    }
}
