import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import Testing

@testable import SwarmGateway

@Suite("Gateway tests API: create, search, edit, stop, restart, delete, mesh")
struct TestsAPITests {
    @Test("the full life of a test through the API")
    func lifecycle() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let op = try await client.signIn("operator")
                let created = try await client.send(
                    .post,
                    "/api/v1/tests",
                    as: op,
                    json: ["spec": tcpSpec(name: "edge web"), "agents": ["a1"]]
                )
                #expect(created.status == .created)
                let id = try #require(try created.json()["id"] as? Int)
                #expect(try created.json()["phase"] as? String == "running")
                #expect(
                    ((try created.json()["spec"] as? [String: Any])?["target"] as? [String: Any])?["port"] as? Int
                        == 443
                )

                for i in 0..<3 {
                    _ = try await client.send(
                        .post,
                        "/api/v1/tests",
                        as: op,
                        json: ["spec": tcpSpec(name: "dns \(i)", host: "198.51.100.\(i)"), "agents": ["a1"]]
                    )
                }
                let page = try await client.send(.get, "/api/v1/tests?limit=2&offset=0", as: op)
                #expect(try page.json()["total"] as? Int == 4)
                #expect((try page.json()["tests"] as? [Any])?.count == 2)
                let search = try await client.send(.get, "/api/v1/tests?q=198.51.100.2", as: op)
                #expect(((try search.json()["tests"] as? [[String: Any]])?.first?["name"] as? String) == "dns 2")

                let edited = try await client.send(
                    .put,
                    "/api/v1/tests/\(id)",
                    as: op,
                    json: ["spec": tcpSpec(name: "edge web v2"), "agents": ["a1", "a2"]]
                )
                #expect(edited.status == .ok, "\(edited.errorMessage)")
                #expect(try edited.json()["revision"] as? Int == 2)
                #expect(try edited.json()["agents"] as? [String] == ["a1", "a2"])

                let stopped = try await client.send(.post, "/api/v1/tests/\(id)/stop", as: op)
                #expect(try stopped.json()["state"] as? String == "cancelled")
                #expect(try stopped.json()["phase"] as? String == "cancelled")
                let restarted = try await client.send(.post, "/api/v1/tests/\(id)/restart", as: op)
                #expect(try restarted.json()["state"] as? String == "active")
                #expect(try restarted.json()["revision"] as? Int == 3)

                #expect(try await client.send(.delete, "/api/v1/tests/\(id)", as: op).status == .noContent)
                #expect(try await client.send(.get, "/api/v1/tests/\(id)", as: op).status == .notFound)
                let rest = try await h.store.tests().map { Int64($0.id.rawValue) }
                let bulk = try await client.send(
                    .post,
                    "/api/v1/tests/bulk-delete",
                    as: op,
                    json: ["ids": rest + [99_999]]
                )
                #expect(try bulk.json()["deleted"] as? Int == 3)
                #expect(try await h.store.tests().isEmpty)
                let kinds = try await h.store.events(limit: 50).map(\.kind)
                #expect(
                    kinds.contains("test.created") && kinds.contains("test.stopped") && kinds.contains("test.restarted")
                )
            }
        }
    }

    @Test("a mesh create makes one test per ordered pair with the peer filled in")
    func mesh() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let op = try await client.signIn("operator")
                let spec: [String: Any] = [
                    "name": "mesh",
                    "probes": [["kind": "PROBE_KIND_UDP", "udp": ["packetsPerSecond": 10, "durationMs": 1000]]],
                    "schedule": ["intervalMs": 60_000, "timeoutMs": 2000, "count": 1],
                ]
                let r = try await client.send(
                    .post,
                    "/api/v1/tests",
                    as: op,
                    json: ["spec": spec, "agents": ["a", "b", "c"], "mesh": true]
                )
                #expect(r.status == .created, "\(r.errorMessage)")
                let tests = try await h.store.tests()
                #expect(tests.count == 6)
                let pairs = Set(tests.map { "\($0.agents[0].rawValue)>\($0.spec.target.agentName)" })
                #expect(pairs == ["a>b", "a>c", "b>a", "b>c", "c>a", "c>b"])
            }
        }
    }

    @Test("restart moves the window to now and keeps length and recurrence")
    func restartWindow() {
        var spec = TestSpec(name: "r", probes: [.icmp], target: .init(host: "192.0.2.1"))
        let start = Timestamp(unixNanos: 1_000_000_000_000)
        spec.schedule.start = start
        spec.schedule.end = start + .seconds(300)
        spec.recurrence = .init(mode: .continue, interval: .seconds(3600))
        let now = start + .seconds(86_400)
        let restarted = TestRoutes.restarted(spec, now: now)
        #expect(restarted.schedule.start == now)
        #expect(restarted.schedule.end == now + .seconds(300))
        #expect(restarted.recurrence == spec.recurrence)
    }

    @Test("agents: delete refuses an online agent, revoke marks it and records an event")
    func agents() async throws {
        try await GatewayHarness.with { h in
            let a1 = try #require(AgentName("a1"))
            try await h.store.recordSessionStart(
                SessionStart(
                    agent: a1,
                    sessionID: "s1",
                    agentVersion: "1.0",
                    host: HostFacts(hostname: "box"),
                    at: .now()
                )
            )
            let running = try await h.store.createTest(TestSpec(name: "on", probes: [.system]), agents: [a1])
            let stopped = try await h.store.createTest(TestSpec(name: "off", probes: [.system]), agents: [a1])
            _ = try await h.store.cancelTest(stopped.id)
            try await h.app.test(.router) { client in
                let admin = try await client.signIn("admin")
                let list = try await client.send(.get, "/api/v1/agents", as: admin)
                let agent = try #require(
                    (try list.json()["agents"] as? [[String: Any]])?.first { $0["name"] as? String == "a1" }
                )
                #expect(agent["state"] as? String == "online")
                #expect((agent["host"] as? [String: Any])?["hostname"] as? String == "box")
                #expect(agent["tests"] as? [Int] == [Int(running.id.rawValue)])
                let delete = try await client.send(.delete, "/api/v1/agents/a1", as: admin)
                #expect(delete.status == .conflict)
                let revoked = try await client.send(.post, "/api/v1/agents/a1/revoke", as: admin)
                #expect(try revoked.json()["state"] as? String == "revoked")
                #expect(try await h.store.agent(a1)?.revokedAt != nil)
                try await h.store.markOffline(a1, sessionID: "s1", at: .now())
                #expect(try await client.send(.delete, "/api/v1/agents/a1", as: admin).status == .noContent)
                #expect(try await h.store.agent(a1) == nil)
            }
        }
    }
}
