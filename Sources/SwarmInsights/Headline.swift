// why: the unit belongs to SwarmCore's probe kinds.
public import SwarmCore

/// A kind's headline figure as people read it: stored times are microseconds, shown as ms.
public enum Headline {
    public static func unit(of kind: ProbeKind) -> String {
        switch kind {
        case .icmp, .udp, .tcp, .dns, .http: "ms"
        case .system, .gnmi: "%"
        case .mtu: "bytes"
        case .bandwidth: "Mbit/s"
        case .traceroute: "hops"
        }
    }

    /// A stored value (or rollup aggregate of values) in the unit of ``unit(of:)``.
    public static func display(_ stored: Double, kind: ProbeKind) -> Double {
        unit(of: kind) == "ms" ? stored / 1000 : stored
    }
}
