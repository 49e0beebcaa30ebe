// why: a request names SwarmCore's test ids, agent names and times, and SwarmStore's time range.
public import SwarmCore
public import SwarmStore

/// What a report covers: one test, one agent's tests, or every test of the swarm.
public enum ReportScope: Sendable, Hashable, CustomStringConvertible {
    case test(TestID)
    case agent(AgentName)
    case swarm

    /// `test:4`, `agent:edge-1` or `swarm`, as the API, the CLI and schedules spell it.
    public init(parsing text: String) throws(ReportError) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first, parts.count) {
        case ("swarm", 1): self = .swarm
        case ("test", 2):
            guard let id = Int64(parts[1]), id > 0 else {
                throw ReportError("scope '\(text)': the test id must be a positive number (test:4)")
            }
            self = .test(TestID(id))
        case ("agent", 2):
            guard let name = AgentName(parts[1]) else {
                throw ReportError("scope '\(text)': '\(parts[1])' is not a valid agent name")
            }
            self = .agent(name)
        default:
            throw ReportError("scope '\(text)' is not one of swarm, test:ID, agent:NAME")
        }
    }

    public var description: String {
        switch self {
        case .test(let id): "test:\(id)"
        case .agent(let name): "agent:\(name)"
        case .swarm: "swarm"
        }
    }
}

/// Paper sizes in PostScript points (1/72 inch).
public enum Paper: String, Sendable, Hashable, CaseIterable {
    case a4, letter

    public var size: (width: Double, height: Double) {
        switch self {
        case .a4: (595.276, 841.89)
        case .letter: (612, 792)
        }
    }
}

public struct ReportRequest: Sendable, Hashable {
    public var scope: ReportScope
    public var period: TimeRange
    public var paper: Paper
    /// Who asked: a user name, "schedule NAME", or the CLI's operator.
    public var generatedBy: String

    public init(scope: ReportScope, period: TimeRange, paper: Paper = .a4, generatedBy: String) {
        self.scope = scope
        self.period = period
        self.paper = paper
        self.generatedBy = generatedBy
    }

    /// Refuses periods a report cannot cover: empty, reversed, or longer than a year.
    public func validate() throws(ReportError) {
        guard period.to > period.from else {
            throw ReportError(
                "the period is empty: 'to' (\(period.to.iso8601)) must be after 'from' (\(period.from.iso8601))"
            )
        }
        guard period.to - period.from <= .seconds(366 * 86_400) else {
            throw ReportError("the period is longer than 366 days: make one report per year or less")
        }
    }
}

public struct ReportError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
