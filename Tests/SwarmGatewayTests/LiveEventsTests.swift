import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import Testing

@testable import SwarmGateway

@Suite("Gateway live updates (server-sent events)")
struct LiveEventsTests {
    @Test("a slow client's buffer stays bounded and ends with resync")
    func boundedBuffer() async throws {
        try await GatewayHarness.with { h in
            let stream = try #require(h.live.subscribe())
            for i in 0..<2000 { h.live.broadcast(.init(name: "test", json: "{\"id\":\(i)}")) }
            h.live.finish()
            var received: [LiveEvents.Event] = []
            for await event in stream { received.append(event) }
            #expect(received.count <= LiveEvents.bufferSize)
            #expect(received.last?.name == "resync")
            #expect(received.contains { $0.json == "{\"id\":1999}" })
        }
    }

    @Test("streams beyond the cap are refused with 503, the open ones keep working")
    func clientCap() async throws {
        try await GatewayHarness.with { h in
            let live = LiveEvents(store: h.store, logger: Logger(label: "t"), maxClients: 2)
            let first = try #require(live.subscribe())
            let second = try #require(live.subscribe())
            #expect(live.subscribe() == nil)
            #expect(throws: GatewayError.self) { try live.response() }
            live.broadcast(.init(name: "test", json: "{}"))
            live.finish()
            var count = 0
            for await _ in first { count += 1 }
            for await _ in second { count += 1 }
            #expect(count == 2)
        }
    }

    @Test("store changes reach a live SSE stream: test created, agent online, results stored")
    func sseOverHTTP() async throws {
        try await GatewayHarness.with { h in
            let hub = Task { await h.live.run() }
            defer { hub.cancel() }
            try await h.app.test(.live) { client in
                let viewer = try await client.signIn("viewer")
                let changes = Task {
                    try await Task.sleep(for: .milliseconds(300))
                    _ = try await seedSeries(h.store, count: 3, start: .now())
                    try await Task.sleep(for: .milliseconds(1500))
                    h.live.finish()
                }
                let response = try await client.execute(
                    uri: "/api/v1/stream",
                    method: .get,
                    headers: viewer.headers(json: false)
                )
                try await changes.value
                #expect(response.headers[.contentType] == "text/event-stream")
                let text = String(buffer: response.body)
                #expect(text.contains("event: agent\ndata: {\"name\":\"a1\",\"online\":true,\"state\":\"online\"}"))
                #expect(text.contains("event: test\ndata: {\"id\":1,\"revision\":1,\"state\":\"active\"}"))
                #expect(text.contains("event: results\ndata: {\"agent\":\"a1\",\"count\":3,\"testId\":1}"))
            }
        }
    }
}
