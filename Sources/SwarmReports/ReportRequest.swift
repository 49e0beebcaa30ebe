// why: a request names SwarmCore's test ids, agent names and times, and SwarmStore's time range.
public import SwarmCore
public import SwarmStore

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
