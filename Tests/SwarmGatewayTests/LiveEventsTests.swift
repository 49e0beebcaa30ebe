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
    static func viewer(_ name: String = "viewer", session: String = "s1") -> Principal {
        Principal(username: name, role: .viewer, method: .session(tokenHash: session, csrfToken: "c"))
    }

    static func stream(_ subscription: LiveEvents.Subscription) -> AsyncStream<LiveEvents.Event>? {
        if case .stream(let stream) = subscription { return stream }
        return nil
    }

    @Test("a slow client's buffer stays bounded and ends with resync")
    func boundedBuffer() async throws {
        try await GatewayHarness.with { h in
            let stream = try #require(Self.stream(h.live.subscribe(for: Self.viewer())))
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
            let first = try #require(Self.stream(live.subscribe(for: Self.viewer("a"))))
            let second = try #require(Self.stream(live.subscribe(for: Self.viewer("b"))))
            guard case .full = live.subscribe(for: Self.viewer("c")) else {
                Issue.record("a third stream was let in past the cap")
                return
            }
            let error = #expect(throws: GatewayError.self) { try live.response(for: Self.viewer("c")) }
            #expect(error?.status == .serviceUnavailable)
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

    @Test("one user holds a bounded share of streams; sign-out ends that session's, disable ends all")
    func perUserStreams() async throws {
        try await GatewayHarness.with { h in
            let live = LiveEvents(store: h.store, logger: Logger(label: "t"), maxPerUser: 2)
            let first = try #require(Self.stream(live.subscribe(for: Self.viewer(session: "s1"))))
            let second = try #require(Self.stream(live.subscribe(for: Self.viewer(session: "s2"))))
            guard case .userFull = live.subscribe(for: Self.viewer(session: "s3")) else {
                Issue.record("a user opened more streams than their share")
                return
            }
            let error = #expect(throws: GatewayError.self) { try live.response(for: Self.viewer(session: "s3")) }
            #expect(error?.status == .tooManyRequests)
            let other = try #require(Self.stream(live.subscribe(for: Self.viewer("operator"))))
            #expect(live.endStreams(of: "viewer", sessionTokenHash: "s1") == 1)
            for await _ in first {}
            #expect(live.clientCount == 2)
            #expect(live.endStreams(of: "viewer") == 1)
            for await _ in second {}
            #expect(live.clientCount == 1)
            live.finish()
            for await _ in other {}
        }
    }

    @Test("open streams are re-checked: a session deleted or a user disabled elsewhere ends its streams")
    func revalidation() async throws {
        try await GatewayHarness.with { h in
            let now = Timestamp.now()
            for hash in ["kept", "gone", "disabled"] {
                try await h.store.createSession(
                    SessionRecord(
                        tokenHash: hash,
                        username: hash == "disabled" ? "operator" : "viewer",
                        csrfToken: "c",
                        createdAt: now,
                        lastSeenAt: now
                    )
                )
            }
            let live = LiveEvents(store: h.store, logger: Logger(label: "t"))
            let kept = try #require(Self.stream(live.subscribe(for: Self.viewer(session: "kept"))))
            let gone = try #require(Self.stream(live.subscribe(for: Self.viewer(session: "gone"))))
            let disabled = try #require(Self.stream(live.subscribe(for: Self.viewer("operator", session: "disabled"))))
            try await h.store.deleteSession(tokenHash: "gone")
            _ = try await h.store.updateUser("operator", role: nil, passwordHash: nil, disabled: true)
            let settings = GatewaySettings(store: h.store)
            await live.revalidate { try await Authenticator.isStillValid($0, store: h.store, settings: settings) }
            for await _ in gone {}
            for await _ in disabled {}
            #expect(live.clientCount == 1)
            live.finish()
            for await _ in kept {}
        }
    }

    @Test("disabling a user through the API ends their open event stream at once")
    func disableEndsStreamOverHTTP() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.live) { client in
                let viewer = try await client.signIn("viewer")
                let admin = try await client.signIn("admin")
                // The stream on its own socket: the test client has one connection, which the
                // never-ending response would hold.
                let socket = try RawSocket(port: try #require(client.port))
                socket.send(
                    "GET /api/v1/stream HTTP/1.1\r\nHost: test\r\nCookie: \(Authenticator.cookieName)=\(viewer.cookie ?? "")\r\n\r\n"
                )
                #expect(await socket.readUntil("retry: 2000", timeout: .seconds(3)))
                #expect(h.live.clientCount == 1)
                let patched = try await client.send(.patch, "/api/v1/users/viewer", as: admin, json: ["disabled": true])
                #expect(patched.status == .ok)
                // The chunked response ends (its last chunk) without waiting for a keepalive.
                #expect(
                    await socket.readUntil("0\r\n\r\n", timeout: .seconds(3)),
                    "the stream outlived the user's disabling"
                )
                #expect(h.live.clientCount == 0)
            }
        }
    }
}
