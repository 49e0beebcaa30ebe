import Foundation
import SwarmCore
import SwarmProto

/// Per-kind probe options ⇄ the `Probe.options` oneof. Zero in a numeric proto field means "the
/// default", so a spec from an older writer still runs with sensible values.
extension TestSpecMapping {
    static func setProbeOptions(_ probe: inout Streamswarm_Mesh_V1_Probe, kind: ProbeKind, from o: TestSpec.Options) {
        switch kind {
        case .tcp:
            guard !o.tcpSend.isEmpty || !o.tcpExpect.isEmpty else { return }
            var tcp = Streamswarm_Mesh_V1_TcpOptions()
            tcp.send = Data(o.tcpSend.utf8)
            tcp.expect = Data(o.tcpExpect.utf8)
            probe.tcp = tcp
        case .icmp:
            var icmp = Streamswarm_Mesh_V1_IcmpOptions()
            icmp.packetIntervalMs = UInt32(clamping: o.icmp.packetInterval.milliseconds)
            probe.icmp = icmp
        case .udp:
            var udp = Streamswarm_Mesh_V1_UdpOptions()
            udp.packetsPerSecond = UInt32(clamping: o.udp.packetsPerSecond)
            udp.durationMs = UInt32(clamping: o.udp.duration.milliseconds)
            udp.voice = o.udp.voice
            udp.ecn = UInt32(clamping: o.udp.ecn)
            probe.udp = udp
        case .dns:
            var dns = Streamswarm_Mesh_V1_DnsOptions()
            dns.server = o.dns.server
            dns.recordType = o.dns.recordType
            dns.tcp = o.dns.tcp
            dns.recursionDesired = o.dns.recursionDesired
            probe.dns = dns
        case .http:
            var http = Streamswarm_Mesh_V1_HttpOptions()
            http.method = o.http.method
            http.followRedirects = o.http.followRedirects
            http.maxRedirects = UInt32(clamping: o.http.maxRedirects)
            http.expectSubstring = o.http.expectSubstring
            http.headers = o.http.headers
            http.insecureSkipVerify = o.http.insecureSkipVerify
            probe.http = http
        case .traceroute:
            var t = Streamswarm_Mesh_V1_TracerouteOptions()
            t.mode =
                switch o.traceroute.mode {
                case .udp: .udp
                case .icmp: .icmp
                case .tcpSYN: .tcpSyn
                }
            t.maxHops = UInt32(clamping: o.traceroute.maxHops)
            t.probesPerHop = UInt32(clamping: o.traceroute.probesPerHop)
            t.resolveNames = o.traceroute.resolveNames
            probe.traceroute = t
        case .mtu:
            var mtu = Streamswarm_Mesh_V1_MtuOptions()
            mtu.minBytes = UInt32(clamping: o.mtu.minBytes)
            mtu.maxBytes = UInt32(clamping: o.mtu.maxBytes)
            probe.mtu = mtu
        case .bandwidth:
            var b = Streamswarm_Mesh_V1_BandwidthOptions()
            b.direction =
                switch o.bandwidth.direction {
                case .download: .download
                case .upload: .upload
                case .both: .both
                }
            b.streams = UInt32(clamping: o.bandwidth.streams)
            b.durationMs = UInt32(clamping: o.bandwidth.duration.milliseconds)
            probe.bandwidth = b
        case .gnmi:
            var g = Streamswarm_Mesh_V1_GnmiOptions()
            g.deviceID = o.gnmi.deviceID
            if let c = o.gnmi.connection { g.connection = GNMIMapping.connection(c) }
            g.unavailableReason = o.gnmi.unavailableReason
            probe.gnmi = g
        case .system:
            guard o.system != TestSpec.SystemOptions() else { return }
            var system = Streamswarm_Mesh_V1_SystemOptions()
            system.perCore = o.system.perCore
            system.perProcessSummary = o.system.perProcessSummary
            probe.system = system
        }
    }

    static func readProbeOptions(_ probe: Streamswarm_Mesh_V1_Probe, into o: inout TestSpec.Options) {
        switch probe.options {
        case .tcp(let tcp):
            o.tcpSend = String(decoding: tcp.send, as: UTF8.self)
            o.tcpExpect = String(decoding: tcp.expect, as: UTF8.self)
        case .icmp(let icmp):
            if icmp.packetIntervalMs > 0 { o.icmp.packetInterval = .milliseconds(Int64(icmp.packetIntervalMs)) }
        case .udp(let udp):
            if udp.packetsPerSecond > 0 { o.udp.packetsPerSecond = Int(udp.packetsPerSecond) }
            if udp.durationMs > 0 { o.udp.duration = .milliseconds(Int64(udp.durationMs)) }
            o.udp.voice = udp.voice
            o.udp.ecn = Int(udp.ecn)
        case .dns(let dns):
            o.dns.server = dns.server
            if !dns.recordType.isEmpty { o.dns.recordType = dns.recordType }
            o.dns.tcp = dns.tcp
            o.dns.recursionDesired = dns.recursionDesired
        case .http(let http):
            if !http.method.isEmpty { o.http.method = http.method }
            o.http.followRedirects = http.followRedirects
            if http.maxRedirects > 0 { o.http.maxRedirects = Int(http.maxRedirects) }
            o.http.expectSubstring = http.expectSubstring
            o.http.headers = http.headers
            o.http.insecureSkipVerify = http.insecureSkipVerify
        case .traceroute(let t):
            o.traceroute.mode =
                switch t.mode {
                case .icmp: .icmp
                case .tcpSyn: .tcpSYN
                default: .udp
                }
            if t.maxHops > 0 { o.traceroute.maxHops = Int(t.maxHops) }
            if t.probesPerHop > 0 { o.traceroute.probesPerHop = Int(t.probesPerHop) }
            o.traceroute.resolveNames = t.resolveNames
        case .mtu(let mtu):
            o.mtu.minBytes = Int(mtu.minBytes)
            o.mtu.maxBytes = Int(mtu.maxBytes)
        case .bandwidth(let b):
            o.bandwidth.direction =
                switch b.direction {
                case .upload: .upload
                case .both: .both
                default: .download
                }
            if b.streams > 0 { o.bandwidth.streams = Int(b.streams) }
            if b.durationMs > 0 { o.bandwidth.duration = .milliseconds(Int64(b.durationMs)) }
        case .gnmi(let g):
            o.gnmi.deviceID = g.deviceID
            o.gnmi.connection = g.hasConnection ? GNMIMapping.connection(g.connection) : nil
            o.gnmi.unavailableReason = g.unavailableReason
        case .system(let system):
            o.system = TestSpec.SystemOptions(perCore: system.perCore, perProcessSummary: system.perProcessSummary)
        case nil:
            break
        }
    }
}
