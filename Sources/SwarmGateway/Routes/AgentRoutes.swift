import Hummingbird
import Logging
import SwarmCore
import SwarmStore

/// Agents: list, detail, delete (offline only) and revoke.
struct AgentRoutes {
    let store: any Store
    /// This build's version: agents reporting another one are marked as drifted.
    let serverVersion: String

    struct AgentList: Encodable {
        var serverVersion: String
        var agents: [AgentDTO]
    }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "agents", .role(.viewer)) { _, _ in
            let agents = try await store.agents()
            let byAgent = try await store.activeTestIDsByAgent()
            return try JSONResponse.make(
                AgentList(
                    serverVersion: serverVersion,
                    agents: try agents.map {
                        try AgentDTO($0, tests: byAgent[$0.name] ?? [], serverVersion: serverVersion)
                    }
                )
            )
        }
        api.on(.get, "agents/:name", .role(.viewer)) { _, context in
            let name = try agentName(context)
            guard let agent = try await store.agent(name) else {
                throw GatewayError.notFound("agent \(name) does not exist")
            }
            return try JSONResponse.make(
                try AgentDTO(
                    agent,
                    tests: try await store.activeTestIDsByAgent()[name] ?? [],
                    serverVersion: serverVersion
                )
            )
        }
        api.on(.delete, "agents/:name", .role(.admin)) { _, context in
            let name = try agentName(context)
            try await store.deleteAgent(name)
            context.logger.notice("agent \(name) deleted by \(context.principal?.username ?? "?")")
            return JSONResponse.noContent
        }
        api.on(.post, "agents/:name/revoke", .role(.admin)) { _, context in
            let name = try agentName(context)
            let record = try await store.revokeAgent(name, at: .now())
            context.logger.notice("agent \(name) revoked by \(context.principal?.username ?? "?")")
            return try JSONResponse.make(
                try AgentDTO(
                    record,
                    tests: try await store.activeTestIDsByAgent()[name] ?? [],
                    serverVersion: serverVersion
                )
            )
        }
    }

    private func agentName(_ context: GatewayContext) throws -> AgentName {
        let raw = try context.parameters.require("name")
        guard let name = AgentName(raw) else {
            throw GatewayError.badRequest("'\(raw.prefix(80))' is not an agent name (1–63 of A-Z a-z 0-9 . _ -)")
        }
        return name
    }
}
