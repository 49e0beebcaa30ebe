import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwarmCore
import SwarmReports
import SwarmStore
import Synchronization

/// `GET /api/v1/reports?scope=swarm|test:ID|agent:NAME&from=…&to=…&paper=a4|letter`: a PDF of the
/// period (viewer and above). At most two are drawn at once; more get 429 with Retry-After.
struct ReportRoutes {
    let store: any Store
    let slots = Slots()
    static let concurrent = 2

    /// Reports being drawn right now.
    final class Slots: Sendable {
        private let drawing = Mutex(0)
        func reserve() -> Bool {
            drawing.withLock { count in
                guard count < ReportRoutes.concurrent else { return false }
                count += 1
                return true
            }
        }
        func release() { drawing.withLock { $0 -= 1 } }
    }

    func add(to api: APIRouteBuilder) {
        addSchedules(to: api)
        api.on(.get, "reports", .role(.viewer)) { request, context in
            let q = request.uri.queryParameters
            let now = Timestamp.now()
            let period = try ResultRoutes.range(q, default: TimeRange(from: now - .seconds(86_400), to: now))
            let scope: ReportScope
            do {
                scope = try ReportScope(parsing: String(q["scope"] ?? "swarm"))
            } catch let error as ReportScope.Invalid {
                throw GatewayError.badRequest(error.description)
            }
            guard let paper = Paper(rawValue: String(q["paper"] ?? "a4").lowercased()) else {
                throw GatewayError.badRequest("paper must be a4 or letter")
            }
            let who = context.principal?.username ?? "?"
            let reportRequest = ReportRequest(scope: scope, period: period, paper: paper, generatedBy: who)
            do { try reportRequest.validate() } catch let error as ReportError {
                throw GatewayError.badRequest(error.description)
            }
            guard slots.reserve() else {
                throw GatewayError(
                    .tooManyRequests,
                    "\(Self.concurrent) reports are being drawn already: try again in a few seconds",
                    headers: [.retryAfter: "5"]
                )
            }
            defer { slots.release() }
            let report: Report
            do { report = try await ReportBuilder.build(reportRequest, store: store, now: now) } catch let error
                as ReportError
            {
                throw error.isUnknownScope
                    ? GatewayError.notFound(error.description)
                    : GatewayError.badRequest(error.description)
            }
            // cairo's drawing is CPU work: off the request's task.
            let pdf = try await Task.detached { try ReportRenderer.pdf(report) }.value
            context.logger.info("report \(scope) \(period.from)–\(period.to) for \(who): \(pdf.count) bytes")
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/pdf",
                    .contentDisposition: "attachment; filename=\"\(reportRequest.filename)\"",
                    .cacheControl: "no-store",
                ],
                body: .init(byteBuffer: ByteBuffer(bytes: pdf))
            )
        }
    }

    // MARK: - Schedules

    struct ScheduleWrite: StrictBody {
        static let fields: Set<String> = ["name", "scope", "cadence", "paper", "channel"]
        var name: String
        var scope: String
        var cadence: String
        var paper: String?
        var channel: String
    }

    struct ScheduleDTO: Encodable {
        var id: Int64
        var name: String
        var scope: String
        var cadence: String
        var paper: String
        var channel: String
        var createdBy: String
        var createdAt: String
        var lastPeriodEnd: String?
        var lastAttemptAt: String?
        var lastError: String
        var sent: Int

        init(_ r: ReportScheduleRecord) {
            id = r.id
            name = r.spec.name
            scope = r.spec.scope.description
            cadence = r.spec.cadence.rawValue
            paper = r.spec.paper.rawValue
            channel = r.spec.channel
            createdBy = r.createdBy
            createdAt = r.createdAt.iso8601
            lastPeriodEnd = r.lastPeriodEnd?.iso8601
            lastAttemptAt = r.lastAttemptAt?.iso8601
            lastError = r.lastError
            sent = r.sent
        }
    }

    struct Schedules: Encodable { var schedules: [ScheduleDTO] }

    /// Schedules: viewers list them; operators add and delete them (they mail the swarm's figures out).
    func addSchedules(to api: APIRouteBuilder) {
        api.on(.get, "report-schedules", .role(.viewer)) { _, _ in
            try JSONResponse.make(Schedules(schedules: try await store.reportSchedules().map(ScheduleDTO.init)))
        }
        api.on(.post, "report-schedules", .role(.operator)) { request, context in
            let body = try await request.decodeStrict(ScheduleWrite.self, context: context)
            let scope: ReportScope
            do {
                scope = try ReportScope(parsing: body.scope)
            } catch let error as ReportScope.Invalid {
                throw GatewayError.badRequest(error.description)
            }
            guard let cadence = ReportCadence(rawValue: body.cadence) else {
                throw GatewayError.badRequest("'cadence' must be daily or weekly")
            }
            guard let paper = Paper(rawValue: (body.paper ?? "a4").lowercased()) else {
                throw GatewayError.badRequest("'paper' must be a4 or letter")
            }
            let who = context.principal?.username ?? "?"
            let record = try await store.createReportSchedule(
                ReportScheduleSpec(
                    name: body.name,
                    scope: scope,
                    cadence: cadence,
                    paper: paper,
                    channel: body.channel
                ),
                by: who
            )
            context.logger.notice(
                "report schedule \(body.name) (\(cadence.rawValue) \(scope) to \(body.channel)) added by \(who)"
            )
            return try JSONResponse.make(ScheduleDTO(record), status: .created)
        }
        api.on(.delete, "report-schedules/:id", .role(.operator)) { _, context in
            let id = try AlertRoutes.id(context, "report schedule")
            try await store.deleteReportSchedule(id)
            context.logger.notice("report schedule \(id) deleted by \(context.principal?.username ?? "?")")
            return JSONResponse.noContent
        }
    }
}
