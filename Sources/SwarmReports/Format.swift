import Foundation
import SwarmAnalytics
import SwarmCore

/// How a report writes numbers and times: about three significant digits, UTC times.
enum Format {
    static func number(_ value: Double) -> String { Diagnosis.text(value) }

    static func percent(_ value: Double) -> String {
        // Availability near 100% needs its decimals: 99.95% is not 100%.
        if value >= 99 && value < 100 { return String(format: "%.2f%%", (value * 100).rounded(.down) / 100) }
        return "\(Diagnosis.text(value))%"
    }

    static func value(_ value: Double?, _ unit: String) -> String {
        guard let value else { return "–" }
        return unit == "%" ? percent(value) : "\(number(value)) \(unit)"
    }

    /// "2026-12-07 14:05 UTC".
    static func time(_ t: Timestamp) -> String {
        let iso = t.iso8601
        return "\(iso.prefix(10)) \(iso.dropFirst(11).prefix(5)) UTC"
    }

    /// "2026-12-07".
    static func day(_ t: Timestamp) -> String { String(time(t).prefix(10)) }

    static func duration(_ d: Duration) -> String {
        let s = d.seconds
        if s >= 86_400 && s.truncatingRemainder(dividingBy: 86_400) == 0 { return "\(Int(s / 86_400)) d" }
        if s >= 3600 && s.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(s / 3600)) h" }
        if s >= 60 { return "\(Int((s / 60).rounded())) min" }
        return "\(Int(s)) s"
    }
}
