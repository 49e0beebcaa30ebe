import Foundation
import SwarmCore
import SwarmWire

/// The figures of one stored run that analysis looks at, decoded once from its payload.
struct RunFeatures: Sendable {
    var startedAt: Timestamp
    var ok: Bool
    /// The headline figure in the test's display unit (ms for times).
    var headline: Double?
    var lossPercent: Double?
    var jitterMs: Double?
    var spreadMs: Double?
    /// dns, connect, tls, first_byte in ms (http).
    var phases: [String: Double] = [:]
    var pathFingerprint: String?
    var certificateDaysLeft: Double?
    var mos: Double?
    /// System runs: the host's CPU and memory in percent.
    var cpuPercent: Double?
    var memoryPercent: Double?

    /// The unit of a kind's headline once converted (times from µs to ms).
    static func unit(of kind: ProbeKind) -> String { Headline.unit(of: kind) }

    /// Whether the headline is a round-trip time (G.114 applies to half of it).
    static func isRoundTrip(_ kind: ProbeKind) -> Bool { [.icmp, .udp, .tcp].contains(kind) }

    init(_ row: MeasurementRecord) {
        startedAt = row.startedAt
        ok = row.status == .ok
        headline = row.value.map { Headline.display($0, kind: row.kind) }
        lossPercent = row.figures.lossPercent
        jitterMs = row.figures.jitterMicros.map { $0 / 1000 }
        if let low = row.figures.low, let high = row.figures.high { spreadMs = (high - low) / 1000 }
        guard let result = try? MeasurementEncoding.decodeResult(kind: row.kind, payload: row.payload) else { return }
        switch result {
        case .http(let http):
            let p = http.phases
            for (name, value) in [("dns", p.dns), ("connect", p.connect), ("tls", p.tls), ("first_byte", p.firstByte)] {
                if let value { phases[name] = value.microseconds / 1000 }
            }
            certificateDaysLeft = http.certificateDaysToExpiry
        case .traceroute(let trace):
            pathFingerprint = trace.hops.map { $0.address.isEmpty ? "*" : $0.address }.joined(separator: ">")
        case .udp(let udp):
            mos = udp.voice?.mos
        case .system(let system):
            cpuPercent = system.cpuPercent
            if system.memoryTotalBytes > 0 {
                memoryPercent =
                    Double(system.memoryTotalBytes - min(system.memoryAvailableBytes, system.memoryTotalBytes))
                    / Double(system.memoryTotalBytes) * 100
            }
        default:
            break
        }
    }

    /// The multivariate view the Isolation Forest sees (missing figures as 0 so rows line up).
    var forestRow: [Double] {
        [
            headline ?? 0, lossPercent ?? 0, jitterMs ?? 0, spreadMs ?? 0,
            phases["dns"] ?? 0, phases["connect"] ?? 0, phases["tls"] ?? 0, phases["first_byte"] ?? 0,
            ok ? 0 : 1,
        ]
    }
}
