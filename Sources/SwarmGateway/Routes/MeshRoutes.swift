import HTTPTypes
import Hummingbird
import SwarmCore
import SwarmStore

/// The mesh matrix: the latest result of every agent-to-agent test, per ordered pair.
struct MeshRoutes {
    let store: any Store
    /// Where the colour thresholds come from (Settings page), so every viewer sees the same.
    let settings: GatewaySettings

    struct Cell: Encodable {
        var from: String
        var to: String
        var testId: Int64
        var kind: String
        var value: Double?
        var lossPercent: Double?
        var status: String
        var at: String
    }

    struct Thresholds: Encodable {
        var warnLatencyMs: Int
        var badLatencyMs: Int
        var badLossPercent: Int
    }

    struct Matrix: Encodable {
        var agents: [String]
        var cells: [Cell]
        var thresholds: Thresholds
    }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "mesh", .role(.viewer)) { request, _ in
            let q = request.uri.queryParameters
            let kindName = q["kind"].map(String.init) ?? "udp"
            guard let kind = ProbeKind(rawValue: kindName), [.udp, .icmp, .tcp].contains(kind) else {
                throw GatewayError.badRequest("kind must be udp, icmp or tcp")
            }
            let window = try ResultRoutes.int(q, "window", default: 900, in: 10...604_800)
            let meshTests = try await store.tests().filter {
                $0.state == .active && !$0.spec.target.agentName.isEmpty && $0.spec.probes.contains(kind)
            }
            let latest = try await store.latestMeasurements(
                tests: meshTests.map(\.id),
                since: .now() - .seconds(window)
            )
            let peers = Dictionary(uniqueKeysWithValues: meshTests.map { ($0.id, $0.spec.target.agentName) })
            var agents = Set(try await store.agents().filter { $0.revokedAt == nil }.map(\.name.rawValue))
            var cells: [Cell] = []
            for m in latest where m.kind == kind {
                guard let to = peers[m.testID] else { continue }
                agents.insert(to)
                agents.insert(m.agent.rawValue)
                cells.append(
                    Cell(
                        from: m.agent.rawValue,
                        to: to,
                        testId: m.testID.rawValue,
                        kind: kind.rawValue,
                        value: m.value,
                        lossPercent: m.figures.lossPercent,
                        status: m.status.rawValue,
                        at: m.startedAt.iso8601
                    )
                )
            }
            let thresholds = Thresholds(
                warnLatencyMs: try await settings.value("meshWarnLatencyMs"),
                badLatencyMs: try await settings.value("meshBadLatencyMs"),
                badLossPercent: try await settings.value("meshBadLossPercent")
            )
            return try JSONResponse.make(Matrix(agents: agents.sorted(), cells: cells, thresholds: thresholds))
        }
    }
}
