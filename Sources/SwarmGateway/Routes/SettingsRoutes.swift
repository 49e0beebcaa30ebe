import Hummingbird
import Logging
import SwarmCore
import SwarmStore

/// Gateway settings (admin), and the dashboard's overview and event log (viewer).
struct SettingsRoutes {
    let store: any Store
    let settings: GatewaySettings

    struct Settings: Codable { var settings: [String: Int] }
    struct Update: StrictBody {
        static let fields: Set<String> = ["settings"]
        var settings: [String: Int]
    }
    struct Events: Encodable { var events: [EventDTO] }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "settings", .role(.admin)) { _, _ in
            try JSONResponse.make(Settings(settings: try await settings.all()))
        }
        api.on(.put, "settings", .role(.admin)) { request, context in
            let body = try await request.decodeStrict(Update.self, context: context)
            try await settings.update(body.settings)
            let summary = body.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: ", ")
            let message = "settings changed by \(context.principal?.username ?? "?"): \(summary)"
            context.logger.notice("\(message)")
            try await store.appendEvent(EventRecord(kind: "settings.changed", subject: "settings", message: message))
            return try JSONResponse.make(Settings(settings: try await settings.all()))
        }
        api.on(.get, "events", .role(.viewer)) { request, context in
            let limit = try ResultRoutes.int(request.uri.queryParameters, "limit", default: 100, in: 1...1000)
            let events = try await store.events(limit: limit, includingAccounts: context.principal?.role == .admin)
            return try JSONResponse.make(Events(events: events.map(EventDTO.init)))
        }
    }
}
