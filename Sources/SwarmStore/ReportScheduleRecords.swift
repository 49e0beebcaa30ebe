import Foundation
// why: schedules carry SwarmCore's report scope, paper, cadence and times.
public import SwarmCore

/// A report mailed after every period of its cadence to an e-mail alert channel's recipients.
public struct ReportScheduleSpec: Sendable, Hashable, Codable {
    public var name: String
    public var scope: ReportScope
    public var cadence: ReportCadence
    public var paper: Paper
    /// The name of an e-mail alert channel: its relay, sender and recipients.
    public var channel: String

    public init(name: String, scope: ReportScope, cadence: ReportCadence, paper: Paper = .a4, channel: String) {
        self.name = name
        self.scope = scope
        self.cadence = cadence
        self.paper = paper
        self.channel = channel
    }

    public func validate() throws(StoreError) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed == name, name.count <= 100 else {
            throw StoreError(
                code: .invalidInput,
                message: "a schedule needs a name of 1 to 100 characters without outer spaces"
            )
        }
        guard !channel.isEmpty else {
            throw StoreError(code: .invalidInput, message: "a schedule needs the name of an e-mail channel to send to")
        }
    }
}

/// A stored schedule and how its deliveries went.
public struct ReportScheduleRecord: Sendable, Hashable, Codable {
    public var id: Int64
    public var spec: ReportScheduleSpec
    public var createdBy: String
    public var createdAt: Timestamp
    /// The end of the newest period mailed; nil before the first.
    public var lastPeriodEnd: Timestamp?
    public var lastAttemptAt: Timestamp?
    /// Why the last attempt failed; empty after a success.
    public var lastError: String
    public var sent: Int

    public init(
        id: Int64,
        spec: ReportScheduleSpec,
        createdBy: String,
        createdAt: Timestamp,
        lastPeriodEnd: Timestamp? = nil,
        lastAttemptAt: Timestamp? = nil,
        lastError: String = "",
        sent: Int = 0
    ) {
        self.id = id
        self.spec = spec
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.lastPeriodEnd = lastPeriodEnd
        self.lastAttemptAt = lastAttemptAt
        self.lastError = lastError
        self.sent = sent
    }
}

/// What one attempt to mail a scheduled report did.
public enum ReportDelivery: Sendable, Hashable {
    /// Mailed the period ending at this time.
    case sent(periodEnd: Timestamp)
    case failed(String)
}
