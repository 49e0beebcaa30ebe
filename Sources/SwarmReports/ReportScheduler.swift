import Foundation
// why: the scheduler is built from a Store and a Logger and runs as a ServiceLifecycle Service.
public import Logging
public import ServiceLifecycle
// why: the options carry SwarmAlerting's mailer (the alert channels' SMTP path).
public import SwarmAlerting
import SwarmAnalytics
// why: a pass runs at a SwarmCore time.
public import SwarmCore
public import SwarmStore

/// Mails scheduled reports: after each whole day or ISO week (UTC), the report of the period just
/// ended goes to the recipients of the schedule's e-mail channel, with the PDF attached. Runs on
/// one server (a `SingletonJob` in `server`, in process in `dev`); a failed delivery is retried
/// after `retryAfter`, and only the newest period is ever sent (no backlog after an outage).
public struct ReportScheduler: Sendable {
    public struct Options: Sendable {
        public var tick: Duration = .seconds(60)
        public var retryAfter: Duration = .seconds(300)
        public var mailer = ChannelMailer()
        public init() {}
    }

    /// What a pass did with one schedule.
    public enum Outcome: Sendable, Hashable {
        case sent(schedule: String, periodEnd: Timestamp, bytes: Int)
        case failed(schedule: String, reason: String)
    }

    let store: any Store
    let logger: Logger
    let options: Options

    public init(store: any Store, logger: Logger, options: Options = Options()) {
        self.store = store
        self.logger = logger
        self.options = options
    }

    /// Passes every `tick` until cancelled; a store that fails is logged and tried again.
    /// Returns (does not throw) when cancelled: a shutdown is not a failure of the service.
    public func run() async throws {
        while !Task.isCancelled {
            do { _ = try await pass(now: .now()) } catch {
                if Task.isCancelled { return }
                logger.error("reports: a scheduling pass failed: \(error); trying again in \(options.tick)")
            }
            do { try await Task.sleep(for: options.tick) } catch { return }
        }
    }

    /// Mails every schedule whose newest whole period has not been mailed yet.
    public func pass(now: Timestamp) async throws -> [Outcome] {
        var outcomes: [Outcome] = []
        let schedules = try await store.reportSchedules()
        guard !schedules.isEmpty else { return [] }
        let channels = try await store.alertChannels()
        for schedule in schedules {
            let period = schedule.spec.cadence.lastPeriod(endingBy: now)
            if let sent = schedule.lastPeriodEnd, sent >= period.to { continue }
            if !schedule.lastError.isEmpty, let attempt = schedule.lastAttemptAt, now - attempt < options.retryAfter {
                continue
            }
            let outcome = await deliver(schedule, period: TimeRange(from: period.from, to: period.to), channels, now)
            switch outcome {
            case .sent(_, let end, let bytes):
                try await store.recordReportDelivery(schedule.id, .sent(periodEnd: end), at: now)
                logger.notice(
                    "reports: mailed '\(schedule.spec.name)' (\(schedule.spec.scope), period ending \(end.iso8601)) to \(schedule.spec.channel), \(bytes) bytes"
                )
            case .failed(_, let reason):
                try await store.recordReportDelivery(schedule.id, .failed(reason), at: now)
                logger.warning(
                    "reports: '\(schedule.spec.name)' was not mailed: \(reason); retrying in \(options.retryAfter)"
                )
            }
            outcomes.append(outcome)
        }
        return outcomes
    }

    private func deliver(
        _ schedule: ReportScheduleRecord,
        period: TimeRange,
        _ channels: [AlertChannelRecord],
        _ now: Timestamp
    ) async -> Outcome {
        let name = schedule.spec.name
        guard let channel = channels.first(where: { $0.spec.name == schedule.spec.channel })?.spec else {
            return .failed(
                schedule: name,
                reason: "channel \(schedule.spec.channel) no longer exists: add it again or delete the schedule"
            )
        }
        let request = ReportRequest(
            scope: schedule.spec.scope,
            period: period,
            paper: schedule.spec.paper,
            generatedBy: "schedule \(name)"
        )
        let report: Report
        let pdf: Data
        do {
            report = try await ReportBuilder.build(request, store: store, now: now)
            pdf = try await Task.detached { try ReportRenderer.pdf(report) }.value
        } catch {
            return .failed(schedule: name, reason: "the report could not be made: \(error)")
        }
        let day = Format.day(period.from)
        do {
            try await options.mailer.send(
                via: channel,
                subject: "[StreamSwarm] \(schedule.spec.cadence.rawValue) report: \(report.title), \(day)",
                text: Self.summary(report, schedule: name),
                attachments: [.init(filename: request.filename, contentType: "application/pdf", data: pdf)],
                at: now
            )
        } catch {
            return .failed(schedule: name, reason: error.description)
        }
        return .sent(schedule: name, periodEnd: period.to, bytes: pdf.count)
    }

    /// The mail's text: the summary a reader needs before opening the PDF.
    static func summary(_ report: Report, schedule: String) -> String {
        var lines = [
            report.title,
            "\(report.scopeDescription)",
            "Period: \(Format.time(report.request.period.from)) – \(Format.time(report.request.period.to))",
            "",
        ]
        if let health = report.health {
            lines.append("Health: \(health.state.rawValue), score \(Format.number(health.score)) of 100")
        }
        lines += report.figures.map { "\($0.name): \($0.value)" }
        if !report.recommendations.isEmpty {
            lines +=
                ["", "Recommendations:"] + report.recommendations.enumerated().map { "\($0.offset + 1). \($0.element)" }
        }
        lines += [
            "", "The full report is attached as a PDF.",
            "Sent by report schedule '\(schedule)' (streamswarm report schedules; delete with streamswarm report delete-schedule).",
        ]
        return lines.joined(separator: "\r\n")
    }
}

/// The scheduler as a Service for a process that is the only server (dev mode).
public struct ReportSchedulerService: Service {
    private let scheduler: ReportScheduler

    public init(store: any Store, logger: Logger, options: ReportScheduler.Options = .init()) {
        scheduler = ReportScheduler(store: store, logger: logger, options: options)
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await scheduler.run() }
    }
}
