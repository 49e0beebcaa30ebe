/// The kinds of probe an agent can run (shared/METRICS.md). The raw value is the name operators type.
public enum ProbeKind: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case icmp, udp, tcp, dns, http, traceroute, mtu, bandwidth, system, gnmi
    public var description: String { rawValue }
}

/// How a probe run ended.
public enum MeasurementStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// The probe ran and produced its figures.
    case ok
    /// The probe ran and the target failed (refused, unreachable, mismatch): see the reason.
    case failed
    case timeout
    /// The host does not allow this probe (for example no CAP_NET_RAW): see the reason.
    case notPermitted = "not_permitted"
    /// This agent cannot run the probe kind yet.
    case unsupported
    /// The run could not start on time: see the reason.
    case missed
}
