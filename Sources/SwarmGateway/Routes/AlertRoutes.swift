import Hummingbird
import Logging
import SwarmCore
import SwarmStore

/// Alerting: alerts (list, detail with notifications, acknowledge), rules and silences
/// (operators), notification channels (admins: they hold secrets and point outside).
struct AlertRoutes {
    let store: any Store

    struct Alerts: Encodable { var alerts: [AlertDTO] }
    struct Rules: Encodable { var rules: [AlertRuleDTO] }
    struct Channels: Encodable { var channels: [AlertChannelDTO] }
    struct Silences: Encodable { var silences: [SilenceDTO] }

    struct RuleWrite: StrictBody {
        static let fields: Set<String> = [
            "name", "metric", "comparison", "raise", "clear", "n", "m", "test", "agent", "severity", "channels",
            "enabled",
        ]
        var name: String
        var metric: String
        var comparison: String?
        var raise: Double
        var clear: Double
        var n: Int?
        var m: Int?
        var test: Int64?
        var agent: String?
        var severity: String?
        var channels: [String]?
        var enabled: Bool?
    }

    struct ChannelWrite: StrictBody {
        static let fields: Set<String> = ["name", "kind", "url", "sender", "recipients", "secret"]
        var name: String
        var kind: String
        var url: String
        var sender: String?
        var recipients: [String]?
        var secret: String?
    }

    struct SilenceWrite: StrictBody {
        static let fields: Set<String> = ["rule", "test", "agent", "duration", "reason"]
        var rule: String?
        var test: Int64?
        var agent: String?
        /// How long: 30m, 2h, 1d.
        var duration: String
        var reason: String
    }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "alerts", .role(.viewer)) { request, _ in
            let q = request.uri.queryParameters
            let limit = try ResultRoutes.int(q, "limit", default: 100, in: 1...1000)
            let test = try q["test"].map { raw -> TestID in
                guard let id = Int64(raw), id > 0 else {
                    throw GatewayError.badRequest("test must be a positive integer")
                }
                return TestID(id)
            }
            let open = q["open"].map { $0 == "true" || $0 == "1" } ?? false
            let alerts = try await store.alerts(AlertQuery(openOnly: open, test: test, limit: limit))
            return try JSONResponse.make(Alerts(alerts: alerts.map { AlertDTO($0) }))
        }
        api.on(.get, "alerts/:id", .role(.viewer)) { _, context in
            let id = try Self.id(context, "alert")
            guard let alert = try await store.alert(id) else {
                throw GatewayError.notFound("alert \(id) does not exist")
            }
            return try JSONResponse.make(AlertDTO(alert, notifications: try await store.notifications(alert: id)))
        }
        api.on(.post, "alerts/:id/ack", .role(.operator)) { _, context in
            let id = try Self.id(context, "alert")
            let who = context.principal?.username ?? "?"
            let alert = try await store.acknowledgeAlert(id, by: who, at: .now())
            context.logger.notice("alert \(id) acknowledged by \(who)")
            return try JSONResponse.make(AlertDTO(alert))
        }

        api.on(.get, "alert-rules", .role(.viewer)) { _, _ in
            try JSONResponse.make(Rules(rules: try await store.alertRules().map(AlertRuleDTO.init)))
        }
        api.on(.post, "alert-rules", .role(.operator)) { request, context in
            let spec = try Self.spec(try await request.decodeStrict(RuleWrite.self, context: context))
            let rule = try await store.createAlertRule(spec)
            context.logger.notice(
                "alert rule \(spec.name) added by \(context.principal?.username ?? "?"): \(spec.summary)"
            )
            return try JSONResponse.make(AlertRuleDTO(rule), status: .created)
        }
        api.on(.put, "alert-rules/:id", .role(.operator)) { request, context in
            let id = try Self.id(context, "alert rule")
            let spec = try Self.spec(try await request.decodeStrict(RuleWrite.self, context: context))
            let rule = try await store.updateAlertRule(id, spec: spec)
            context.logger.notice(
                "alert rule \(spec.name) changed by \(context.principal?.username ?? "?"): \(spec.summary)"
            )
            return try JSONResponse.make(AlertRuleDTO(rule))
        }
        api.on(.delete, "alert-rules/:id", .role(.operator)) { _, context in
            let id = try Self.id(context, "alert rule")
            try await store.deleteAlertRule(id)
            context.logger.notice("alert rule \(id) deleted by \(context.principal?.username ?? "?")")
            return JSONResponse.noContent
        }

        api.on(.get, "alert-channels", .role(.viewer)) { _, _ in
            try JSONResponse.make(Channels(channels: try await store.alertChannels().map(AlertChannelDTO.init)))
        }
        api.on(.post, "alert-channels", .role(.admin)) { request, context in
            let body = try await request.decodeStrict(ChannelWrite.self, context: context)
            guard let kind = AlertChannelSpec.Kind(rawValue: body.kind) else {
                throw GatewayError.badRequest("'kind' must be webhook or email")
            }
            let spec = AlertChannelSpec(
                name: body.name,
                kind: kind,
                url: body.url,
                sender: body.sender ?? "",
                recipients: body.recipients ?? [],
                secret: body.secret ?? ""
            )
            let channel = try await store.createAlertChannel(spec)
            context.logger.notice(
                "\(kind.rawValue) channel \(spec.name) added by \(context.principal?.username ?? "?")"
            )
            return try JSONResponse.make(AlertChannelDTO(channel), status: .created)
        }
        api.on(.delete, "alert-channels/:id", .role(.admin)) { _, context in
            let id = try Self.id(context, "channel")
            try await store.deleteAlertChannel(id)
            context.logger.notice("channel \(id) deleted by \(context.principal?.username ?? "?")")
            return JSONResponse.noContent
        }

        api.on(.get, "silences", .role(.viewer)) { request, _ in
            let now = Timestamp.now()
            let all = request.uri.queryParameters["all"].map { $0 == "true" || $0 == "1" } ?? false
            let silences = try await store.silences(activeAt: all ? nil : now)
            return try JSONResponse.make(Silences(silences: silences.map { SilenceDTO($0, now: now) }))
        }
        api.on(.post, "silences", .role(.operator)) { request, context in
            let body = try await request.decodeStrict(SilenceWrite.self, context: context)
            let now = Timestamp.now()
            let duration = try AnalysisRoutes.duration(body.duration, "duration", default: .zero)
            guard duration > .zero, duration <= .seconds(90 * 86_400) else {
                throw GatewayError.badRequest("duration must be between 1s and 90d")
            }
            if let agent = body.agent, !agent.isEmpty, AgentName(agent) == nil {
                throw GatewayError.badRequest("agent \(agent) is not an agent name")
            }
            let silence = SilenceRecord(
                matcher: AlertSilence(
                    rule: body.rule ?? "",
                    test: body.test,
                    agent: body.agent ?? "",
                    untilUnixNanos: (now + duration).unixNanos
                ),
                reason: body.reason,
                createdBy: context.principal?.username ?? "?",
                createdAt: now
            )
            let stored = try await store.createSilence(silence)
            context.logger.notice("\(silence.summary) (by \(silence.createdBy))")
            return try JSONResponse.make(SilenceDTO(stored, now: now), status: .created)
        }
        api.on(.delete, "silences/:id", .role(.operator)) { _, context in
            let id = try Self.id(context, "silence")
            try await store.deleteSilence(id)
            context.logger.notice("silence \(id) ended by \(context.principal?.username ?? "?")")
            return JSONResponse.noContent
        }
    }

    static func id(_ context: GatewayContext, _ what: String) throws -> Int64 {
        let raw = try context.parameters.require("id")
        guard let id = Int64(raw), id > 0 else {
            throw GatewayError.badRequest("\(what) id must be a positive integer")
        }
        return id
    }

    static func spec(_ body: RuleWrite) throws -> AlertRuleSpec {
        guard let metric = AlertMetric(rawValue: body.metric) else {
            throw GatewayError.badRequest(
                "'metric' must be one of \(AlertMetric.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard let comparison = AlertCondition.Comparison(rawValue: body.comparison ?? "above") else {
            throw GatewayError.badRequest("'comparison' must be above or below")
        }
        guard let severity = AlertSeverity(rawValue: body.severity ?? "warning") else {
            throw GatewayError.badRequest("'severity' must be warning or critical")
        }
        var agent: AgentName?
        if let raw = body.agent, !raw.isEmpty {
            guard let name = AgentName(raw) else { throw GatewayError.badRequest("agent \(raw) is not an agent name") }
            agent = name
        }
        return AlertRuleSpec(
            name: body.name,
            metric: metric,
            condition: AlertCondition(
                comparison: comparison,
                raise: body.raise,
                clear: body.clear,
                n: body.n ?? 3,
                m: body.m ?? 5
            ),
            test: body.test.map(TestID.init),
            agent: agent,
            severity: severity,
            channels: body.channels ?? [],
            enabled: body.enabled ?? true
        )
    }
}
