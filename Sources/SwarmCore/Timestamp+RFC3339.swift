import Foundation

extension Timestamp {
    /// Parses RFC 3339 (`2026-11-22T10:00:00Z`, with or without fractional seconds), or a plain
    /// date (`2026-11-22`, midnight UTC) as people type on the command line.
    public init?(rfc3339 text: String) {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var date = formatter.date(from: text)
        if date == nil {
            formatter.formatOptions = [.withInternetDateTime]
            date = formatter.date(from: text)
        }
        if date == nil, text.count == 10 {
            formatter.formatOptions = [.withFullDate]
            date = formatter.date(from: text)
        }
        guard let date else { return nil }
        self.init(unixNanos: Int64((date.timeIntervalSince1970 * 1e9).rounded()))
    }
}
