import Foundation
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

    /// `streamswarm-SCOPE-FROM-TO.pdf` (UTC days), as the API and the scheduled mails name it.
    public var filename: String {
        let scope = scope.description.replacingOccurrences(of: ":", with: "-")
        return "streamswarm-\(scope)-\(Format.day(period.from))-\(Format.day(period.to)).pdf"
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
    /// The scope names a test or agent that does not exist (the API's 404), not a bad request.
    public var isUnknownScope: Bool
    public init(_ description: String, unknownScope: Bool = false) {
        self.description = description
        self.isUnknownScope = unknownScope
    }
}
