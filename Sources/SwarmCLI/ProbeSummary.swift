import Foundation
import SwarmCore

/// Human-readable text for one probe observation, in the spirit of ping/mtr/dig/curl -w output.
enum ProbeSummary {
    static func render(_ o: ProbeObservation) -> String {
        var lines: [String] = []
        let head = "\(o.kind) \(o.status.rawValue) in \(ms(o.duration))"
        lines.append(o.reason.isEmpty ? head : "\(head): \(o.reason)")
        switch o.result {
        case .icmp(let r):
            lines.append(
                "\(r.address) (\(r.socketMode) socket, dscp \(r.dscp)): \(tally(r.tally))"
                    + (r.replyTTL.map { ", reply ttl \($0)" } ?? "")
            )
            lines.append(rtt(r.rtt))
            lines.append("rtts: " + r.rtts.map { $0.map(ms) ?? "*" }.joined(separator: " "))
        case .udp(let r):
            lines.append("\(r.address): \(tally(r.tally))")
            lines.append(rtt(r.rtt))
            lines.append(
                "dscp sent \(r.dscpSent), received \(r.dscpReceived.map(String.init) ?? "-")"
                    + (r.dscpReceived.map { $0 != r.dscpSent ? " (REMARKED on the path)" : "" } ?? "")
                    + "; ecn sent \(r.ecnSent), received \(r.ecnReceived.map(String.init) ?? "-"), CE marks \(r.ceMarks)"
            )
            if let v = r.voice {
                lines.append(String(format: "voice (%@): R-factor %.1f, MOS %.2f", v.codec, v.rFactor, v.mos))
            }
        case .tcp(let r):
            lines.append(
                "\(r.address):\(r.port) \(r.outcome.rawValue)" + (r.connectTime.map { ", connect \(ms($0))" } ?? "")
                    + (r.congestionControl.isEmpty ? "" : ", cc \(r.congestionControl)")
            )
            if let i = r.info {
                lines.append(
                    "tcp_info: rtt \(i.rttMicros) µs, rttvar \(i.rttvarMicros) µs, min rtt \(i.minRttMicros) µs, "
                        + "cwnd \(i.sndCwnd), mss \(i.sndMss), pmtu \(i.pmtu), retrans \(i.totalRetrans)"
                )
            }
        case .dns(let r):
            lines.append(
                "\(r.query) \(r.recordType) @\(r.server): \(r.rcode), \(r.answerCount) answer(s)"
                    + (r.queryTime.map { ", \(ms($0))" } ?? "") + (r.usedTCP ? ", tcp" : "")
                    + (r.truncated ? ", truncated over udp" : "")
            )
            for a in r.answers { lines.append("  \(a.name)\t\(a.ttl)\t\(a.type)\t\(a.data)") }
        case .http(let r):
            lines.append("\(r.url): \(r.statusCode) \(r.httpVersion), \(r.bytes) bytes")
            let p = r.phases
            lines.append(
                "dns \(opt(p.dns)), connect \(opt(p.connect)), tls \(opt(p.tls)), first byte \(opt(p.firstByte)), "
                    + "transfer \(opt(p.transfer)), total \(ms(p.total))"
            )
            if !r.tlsVersion.isEmpty {
                lines.append(
                    "\(r.tlsVersion) \(r.cipher); cert \(r.certificateSubject) from \(r.certificateIssuer)"
                        + (r.certificateDaysToExpiry.map { String(format: ", expires in %.0f days", $0) } ?? "")
                )
            }
            if !r.contentEncoding.isEmpty {
                lines.append("\(r.contentEncoding): \(r.compressedBytes) → \(r.decodedBytes) bytes")
            }
            if let matched = r.bodyMatched { lines.append("body match: \(matched ? "yes" : "NO")") }
        case .traceroute(let r):
            lines.append(
                "\(r.mode) trace to \(r.destination), flow \(r.flowID), "
                    + "\(r.reached ? "reached" : "NOT reached"), fingerprint \(r.pathFingerprint)"
            )
            lines += r.hops.map(hop)
        case .mtu(let r):
            lines.append(
                "path mtu to \(r.destination): \(r.pathMTU.map(String.init) ?? "unknown") (\(r.method))"
                    + (r.dropHopAddress.isEmpty ? "" : "; drops at hop \(r.dropHopTTL ?? 0) \(r.dropHopAddress)")
            )
            lines += r.hops.map(hop)
        case .bandwidth(let r):
            let down = r.downloadMbps.map { String(format: "%.2f Mbit/s down", $0) }
            let up = r.uploadMbps.map { String(format: "%.2f Mbit/s up", $0) }
            lines.append(
                "\(r.peer): \([down, up].compactMap { $0 }.joined(separator: ", ")) over \(r.streams) stream(s) "
                    + "in \(ms(r.duration)), \(r.retransmits) retransmits"
            )
            lines.append("per second: " + r.perSecondMbps.map { String(format: "%.1f", $0) }.joined(separator: " "))
        case .system(let s):
            lines.append(
                "cpu \(s.cpuPercent.map { String(format: "%.1f%%", $0) } ?? "- (needs two samples)"), "
                    + String(format: "load %.2f %.2f %.2f", s.load1, s.load5, s.load15)
                    + ", \(s.coreCount) cores, memory \(s.memoryUsedBytes / 1_048_576)/\(s.memoryTotalBytes / 1_048_576) MiB"
            )
        case .gnmi(let g):
            lines.append(
                "\(g.deviceName.isEmpty ? g.deviceAddress : g.deviceName): \(g.interfaces.count) interfaces, "
                    + "cpu \(g.cpuPercent.map { String(format: "%.1f%%", $0) } ?? "-"), \(g.updates) updates"
            )
        case nil:
            break
        }
        return lines.joined(separator: "\n")
    }

    static func ms(_ d: Duration) -> String { String(format: "%.3f ms", d.microseconds / 1000) }
    static func opt(_ d: Duration?) -> String { d.map(ms) ?? "-" }

    static func tally(_ t: SequenceTally) -> String {
        String(format: "%d sent, %d received, %.1f%% loss", t.sent, t.received, t.lossPercent)
            + (t.duplicates > 0 ? ", \(t.duplicates) duplicates" : "")
            + (t.reordered > 0 ? ", \(t.reordered) reordered" : "")
    }

    static func rtt(_ r: RTTSummary) -> String {
        "rtt min/avg/max/mdev \(opt(r.min))/\(opt(r.avg))/\(opt(r.max))/\(opt(r.mdev)), "
            + "p50/p90/p99 \(opt(r.p50))/\(opt(r.p90))/\(opt(r.p99)), jitter \(opt(r.jitter))"
    }

    static func hop(_ h: TracerouteHop) -> String {
        let address = h.address.isEmpty ? "*" : h.address + (h.name.isEmpty ? "" : " (\(h.name))")
        let rtts = h.rtts.map(ms).joined(separator: "  ")
        return String(format: "%2d  ", h.ttl) + "\(address)  \(rtts)"
            + (h.mtu.map { "  mtu \($0)" } ?? "")
            + (h.lossPercent > 0 ? String(format: "  %.0f%% loss", h.lossPercent) : "")
    }
}
