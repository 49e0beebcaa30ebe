// why: the summary takes a ProbeKind and a stored payload (Data).
public import Foundation
public import SwarmCore
import SwarmProto

/// One line per stored result, for tables (`results show`).
extension MeasurementEncoding {
    public static func summary(kind: ProbeKind, payload: Data) -> String {
        var m = Streamswarm_Mesh_V1_Measurement()
        guard (try? setResult(&m, kind: kind, payload: payload)) != nil else { return "(undecodable result)" }
        func ms(_ us: Double) -> String { String(format: "%.3f ms", us / 1000) }
        switch m.result {
        case .icmp(let r):
            return "\(r.address) \(r.received)/\(r.sent) replies, loss \(String(format: "%.1f", r.lossPercent))%, "
                + "p50 \(ms(r.rtt.p50Us)) jitter \(ms(r.rtt.jitterUs)) (\(r.socketMode))"
        case .udp(let r):
            var text =
                "\(r.address) \(r.received)/\(r.sent), loss \(String(format: "%.1f", r.lossPercent))%, "
                + "jitter \(ms(r.rtt.jitterUs)), dscp \(r.dscpSent)→\(r.hasDscpReceived ? String(r.dscpReceived) : "?")"
            if r.hasVoice { text += String(format: ", MOS %.2f", r.voice.mos) }
            return text
        case .dns(let r):
            return "\(r.query) \(r.recordType) @\(r.server): \(r.rcode), \(r.answerCount) answers"
                + (r.usedTcp ? " (tcp)" : "")
        case .http(let r):
            return
                "\(r.statusCode) \(r.bytes) bytes, connect \(ms(r.phases.connectUs)), first byte \(ms(r.phases.firstByteUs))"
        case .traceroute(let r):
            return
                "\(r.hops.count) hops to \(r.destination)\(r.reached ? "" : " (not reached)"), path \(r.pathFingerprint)"
        case .mtu(let r):
            return "path mtu \(r.hasPathMtu ? String(r.pathMtu) : "?")"
                + (r.dropHopAddress.isEmpty ? "" : ", drops after \(r.dropHopAddress)")
        case .bandwidth(let r):
            return "\(r.peer): "
                + [
                    r.hasDownloadMbps ? String(format: "%.1f Mbit/s down", r.downloadMbps) : nil,
                    r.hasUploadMbps ? String(format: "%.1f Mbit/s up", r.uploadMbps) : nil,
                ].compactMap { $0 }.joined(separator: ", ") + ", \(r.retransmits) retransmits"
        case .tcp, .system, .gnmi, nil:
            return ""
        }
    }
}
