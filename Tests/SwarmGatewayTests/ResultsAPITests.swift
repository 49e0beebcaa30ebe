import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwarmCore
import SwarmProto
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwiftProtobuf
import Testing

@testable import SwarmGateway

/// Stores `count` icmp measurements for a fresh test, one a second from `start`.
func seedSeries(_ store: any Store, count: Int, start: Timestamp) async throws -> TestID {
    let agent = try #require(AgentName("a1"))
    try await store.recordSessionStart(
        SessionStart(agent: agent, sessionID: "s", agentVersion: "1", host: HostFacts(), at: .now())
    )
    let test = try await store.createTest(
        TestSpec(name: "ping", probes: [.icmp], target: .init(host: "192.0.2.1")),
        agents: [agent]
    )
    var icmp = Streamswarm_Mesh_V1_IcmpResult()
    icmp.address = "192.0.2.1"
    icmp.sent = 5
    icmp.received = 5
    let payload = try icmp.serializedData()
    var batch: [MeasurementRecord] = []
    var batchID: UInt64 = 0
    for i in 0..<count {
        let value = Double(i % 100) * 10
        batch.append(
            MeasurementRecord(
                testID: test.id,
                revision: 1,
                agent: agent,
                sequence: UInt64(i + 1),
                kind: .icmp,
                startedAt: start + .seconds(i),
                duration: .milliseconds(5),
                status: i % 10 == 0 ? .timeout : .ok,
                reason: i == 1 ? "=cmd|' /C calc'!A0, \"quoted\"" : "",
                value: value,
                figures: MeasurementFigures(
                    lossPercent: i % 2 == 0 ? 0 : 20,
                    jitterMicros: 3,
                    low: value - 1,
                    high: value + 1
                ),
                payload: payload
            )
        )
        if batch.count == 5000 || i == count - 1 {
            batchID += 1
            _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: batchID, measurements: batch)])
            batch.removeAll()
        }
    }
    return test.id
}

@Suite("Gateway results: raw, export, downsampled series, overview, mesh")
struct ResultsAPITests {
    @Test("series downsample an hour of 1 s data into buckets with min/avg/max, spread, loss and jitter")
    func series() async throws {
        try await GatewayHarness.with { h in
            let start = Timestamp(unixNanos: 1_790_000_000_000_000_000)
            let id = try await seedSeries(h.store, count: 3600, start: start)
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let uri =
                    "/api/v1/results/series?test=\(id)&from=\(start.iso8601)&to=\((start + .seconds(3600)).iso8601)&points=60"
                let r = try await client.send(.get, uri, as: viewer)
                #expect(r.status == .ok, "\(r.errorMessage)")
                #expect(try r.json()["bucketSeconds"] as? Double == 60)
                let series = try #require((try r.json()["series"] as? [[String: Any]])?.first)
                #expect(series["agent"] as? String == "a1")
                let points = try #require(series["points"] as? [[String: Any]])
                #expect(points.count == 60)
                let first = points[0]
                #expect(first["n"] as? Int == 60)
                #expect(first["ok"] as? Int == 54)
                #expect(first["min"] as? Double == 0)
                #expect(first["max"] as? Double == 590)
                #expect(first["low"] as? Double == -1)
                #expect(first["high"] as? Double == 591)
                #expect(first["lossPercent"] as? Double == 10)
                #expect(first["jitterUs"] as? Double == 3)
                #expect(first["t"] as? String == start.iso8601)
            }
        }
    }

    @Test("raw results as JSON (proto3 result inside) and CSV (quoted, formula-safe)")
    func export() async throws {
        try await GatewayHarness.with { h in
            let start = Timestamp(unixNanos: 1_790_000_000_000_000_000)
            let id = try await seedSeries(h.store, count: 20, start: start)
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let r = try await client.send(.get, "/api/v1/results?test=\(id)&limit=5&order=asc", as: viewer)
                let rows = try #require(try r.json()["results"] as? [[String: Any]])
                #expect(rows.count == 5)
                #expect(rows[0]["status"] as? String == "timeout")
                #expect(rows[0]["startedAt"] as? String == start.iso8601)
                #expect((rows[0]["result"] as? [String: Any])?["address"] as? String == "192.0.2.1")
                let newest = try await client.send(.get, "/api/v1/results?test=\(id)&limit=1", as: viewer)
                #expect((try newest.json()["results"] as? [[String: Any]])?.first?["sequence"] as? Int == 20)

                let csv = try await client.send(.get, "/api/v1/results?test=\(id)&format=csv&order=asc", as: viewer)
                #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
                let lines = String(buffer: csv.body).split(separator: "\n")
                #expect(lines.count == 21)
                #expect(lines[0].hasPrefix("test_id,revision,agent"))
                #expect(lines[2].contains("\"'=cmd|' /C calc'!A0, \"\"quoted\"\"\""))
            }
        }
    }

    @Test("overview counts agents and tests and buckets the last 24 hours")
    func overview() async throws {
        try await GatewayHarness.with { h in
            _ = try await seedSeries(h.store, count: 120, start: .now() - .seconds(600))
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let r = try await client.send(.get, "/api/v1/overview", as: viewer)
                let o = try r.json()
                #expect(o["agentsOnline"] as? Int == 5)
                #expect(o["agentsTotal"] as? Int == 5)
                #expect(o["testsActive"] as? Int == 1)
                let hours = try #require(o["latency"] as? [[String: Any]])
                #expect(hours.count == 24)
                #expect(hours.map { $0["count"] as? Int ?? 0 }.reduce(0, +) == 120)
                #expect((o["events"] as? [[String: Any]])?.contains { $0["kind"] as? String == "agent.online" } == true)
            }
        }
    }
}
