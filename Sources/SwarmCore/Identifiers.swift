import Foundation

/// An agent's name: the subject CN of its certificate and the `<name>` in `streamswarm://agent/<name>`.
///
/// The invariant is the character set the provisioning script enforces, so a name is always safe to
/// use as a path component, a log value and a table key.
public struct AgentName: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    /// Creates a name, or returns `nil` when it is not 1–63 characters of `[A-Za-z0-9._-]` starting
    /// with a letter or digit.
    public init?(_ rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    public static func isValid(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func isAlnum(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        }
        guard isAlnum(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(String.self)
        guard let name = AgentName(value) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad agent name"))
        }
        self = name
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A test's identity, assigned by the store.
public struct TestID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Wall-clock time as nanoseconds since the Unix epoch, UTC: the unit the wire and the store use.
public struct Timestamp: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public var unixNanos: Int64
    public init(unixNanos: Int64) { self.unixNanos = unixNanos }

    /// The current wall-clock time.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(unixNanos: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.unixNanos < rhs.unixNanos }
    public static func + (lhs: Self, rhs: Duration) -> Self { Self(unixNanos: lhs.unixNanos + rhs.nanoseconds) }
    public static func - (lhs: Self, rhs: Duration) -> Self { Self(unixNanos: lhs.unixNanos - rhs.nanoseconds) }
    public static func - (lhs: Self, rhs: Self) -> Duration { .nanoseconds(lhs.unixNanos - rhs.unixNanos) }

    /// ISO 8601 in UTC with millisecond precision, e.g. `2026-11-22T17:30:00.123Z`.
    public var iso8601: String {
        var seconds = time_t(unixNanos / 1_000_000_000)
        var millis = Int((unixNanos % 1_000_000_000) / 1_000_000)
        if millis < 0 {
            millis += 1000
            seconds -= 1
        }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    public var description: String { iso8601 }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating is not needed for the spans we use).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The duration in (fractional) seconds.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds.
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
