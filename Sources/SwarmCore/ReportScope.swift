import Foundation

/// What a report covers: one test, one agent's tests, or every test of the swarm.
public enum ReportScope: Sendable, Hashable, Codable, CustomStringConvertible {
    case test(TestID)
    case agent(AgentName)
    case swarm

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// `test:4`, `agent:edge-1` or `swarm`, as the API, the CLI and schedules spell it.
    public init(parsing text: String) throws(Invalid) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first, parts.count) {
        case ("swarm", 1): self = .swarm
        case ("test", 2):
            guard let id = Int64(parts[1]), id > 0 else {
                throw Invalid(description: "scope '\(text)': the test id must be a positive number (test:4)")
            }
            self = .test(TestID(id))
        case ("agent", 2):
            guard let name = AgentName(parts[1]) else {
                throw Invalid(description: "scope '\(text)': '\(parts[1])' is not a valid agent name")
            }
            self = .agent(name)
        default:
            throw Invalid(description: "scope '\(text)' is not one of swarm, test:ID, agent:NAME")
        }
    }

    public var description: String {
        switch self {
        case .test(let id): "test:\(id)"
        case .agent(let name): "agent:\(name)"
        case .swarm: "swarm"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: error.description)
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Paper sizes in PostScript points (1/72 inch).
public enum Paper: String, Sendable, Hashable, Codable, CaseIterable {
    case a4, letter

    public var size: (width: Double, height: Double) {
        switch self {
        case .a4: (595.276, 841.89)
        case .letter: (612, 792)
        }
    }
}

/// How often a scheduled report covers the period just ended: whole UTC days, or ISO weeks
/// (Monday 00:00 UTC to Monday 00:00 UTC).
public enum ReportCadence: String, Sendable, Hashable, Codable, CaseIterable {
    case daily, weekly

    public var length: Duration { .seconds(self == .daily ? 86_400 : 7 * 86_400) }

    /// The newest whole period that ended at or before `now`.
    public func lastPeriod(endingBy now: Timestamp) -> (from: Timestamp, to: Timestamp) {
        let day: Int64 = 86_400_000_000_000
        let days = now.unixNanos >= 0 ? now.unixNanos / day : (now.unixNanos - day + 1) / day
        var end = days * day
        if self == .weekly {
            // 1970-01-01 was a Thursday: Monday is 3 days after it.
            let weekday = ((days - 4) % 7 + 7) % 7
            end -= weekday * day
        }
        return (Timestamp(unixNanos: end) - length, Timestamp(unixNanos: end))
    }
}
