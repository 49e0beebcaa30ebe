import Foundation
import GRDB
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import Testing

@testable import SwarmGateway

@Suite("Gateway hostile input: clear 4xx, nothing changed")
struct HostileInputTests {
    @Test("malformed, oversized, non-object, unknown-field and wrong-type bodies are refused")
    func badBodies() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let op = try await client.signIn("operator")
                let cases: [(String, HTTPResponse.Status, String)] = [
                    ("{\"spec\": ", .badRequest, "not valid JSON"),
                    ("[1,2,3]", .badRequest, "must be a JSON object"),
                    ("", .badRequest, "needs a JSON body"),
                    (String(repeating: " ", count: 2 << 20) + "{}", .contentTooLarge, "larger than"),
                    ("{\"spec\":{},\"agents\":[\"a\"],\"evil\":1}", .badRequest, "unknown field 'evil'"),
                    ("{\"spec\":\"x\",\"agents\":[\"a\"]}", .badRequest, "TestSpec object"),
                    (
                        "{\"spec\":{\"name\":\"x\",\"bogus\":1},\"agents\":[\"a\"]}", .badRequest,
                        "has an unknown field 'bogus'"
                    ),
                    ("{\"spec\":{\"name\":\"x\"},\"agents\":[\"a\"]}", .badRequest, "at least one probe"),
                    ("{\"spec\":{},\"agents\":\"a\"}", .badRequest, "wrong type"),
                    ("{\"agents\":[\"a\"]}", .badRequest, "missing field 'spec'"),
                    ("{\"spec\":\(json(tcpSpec())),\"agents\":[\"../etc\"]}", .badRequest, "not an agent name"),
                    (
                        "{\"spec\":\(json(tcpSpec())),\"agents\":[\"typo\"]}", .badRequest,
                        "agent typo has never connected"
                    ),
                ]
                for (body, status, message) in cases {
                    let r = try await client.send(.post, "/api/v1/tests", as: op, raw: body)
                    #expect(r.status == status, "\(body.prefix(60)): \(r.status) \(r.errorMessage)")
                    #expect(r.errorMessage.contains(message), "\(body.prefix(60)): \(r.errorMessage)")
                    #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
                }
                #expect(try await h.store.tests().isEmpty)
                // A cross-site form can send text/plain only: refused before the body is read.
                var plain = op.headers(json: false)
                plain[.contentType] = "text/plain"
                let form = try await client.execute(
                    uri: "/api/v1/tests",
                    method: .post,
                    headers: plain,
                    body: ByteBuffer(string: json(["spec": tcpSpec(), "agents": ["a"]]))
                )
                #expect(form.status == .unsupportedMediaType)
                let login = try await client.execute(
                    uri: "/api/v1/auth/login",
                    method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "username=admin&password=x")
                )
                #expect(login.status == .unsupportedMediaType)
                #expect(try await h.store.tests().isEmpty)
                let admin = try await client.signIn("admin")
                let badRole = try await client.send(
                    .post,
                    "/api/v1/users",
                    as: admin,
                    json: ["username": "x", "password": "long enough pw", "role": "root"]
                )
                #expect(badRole.status == .badRequest)
                let badSetting = try await client.send(
                    .put,
                    "/api/v1/settings",
                    as: admin,
                    json: ["settings": ["sessionIdleMinutes": 0]]
                )
                #expect(badSetting.status == .badRequest)
                let unknownSetting = try await client.send(
                    .put,
                    "/api/v1/settings",
                    as: admin,
                    json: ["settings": ["rootShell": 1]]
                )
                #expect(unknownSetting.errorMessage.contains("unknown setting"))
                #expect(try await h.store.users().count == 3)
            }
        }
    }

    @Test("errors say what to do in our words: no decoder or SQLite text reaches the client")
    func noInternalsInErrors() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let op = try await client.signIn("operator")
                let spec = try await client.send(
                    .post,
                    "/api/v1/tests",
                    as: op,
                    json: ["spec": ["name": "x", "bogus": 1], "agents": ["a"]]
                )
                #expect(spec.status == .badRequest)
                #expect(spec.errorMessage == "the test spec has an unknown field 'bogus'")
                let shape = try await client.send(
                    .post,
                    "/api/v1/auth/login",
                    raw: #"{"username": {"nested": true}, "password": "x"}"#
                )
                #expect(shape.status == .badRequest)
                for response in [spec, shape] {
                    let text = String(buffer: response.body)
                    #expect(
                        !text.contains("DecodingError") && !text.contains("JSONDecodingError")
                            && !text.contains("Swift.")
                    )
                }
                // The store fails underneath (a table gone): 503 in our words, SQLite's text in the log.
                let other = try DatabaseQueue(path: h.databasePath)
                try await other.write { try $0.execute(sql: "DROP TABLE events") }
                let broken = try await client.send(.get, "/api/v1/events", as: op)
                #expect(broken.status == .serviceUnavailable)
                let text = String(buffer: broken.body)
                #expect(!text.lowercased().contains("sqlite") && !text.contains("no such table"), "\(text)")
                #expect(broken.errorMessage.contains("try again"))
            }
        }
    }

    @Test("SQL-ish and script-ish text is stored and returned verbatim, as JSON data")
    func inertStrings() async throws {
        let nasty = [
            "'; DROP TABLE tests; --", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\" OR 1=1 --",
            "${jndi:ldap://x}", "名前 ✓ \u{202E}",
        ]
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let op = try await client.signIn("operator")
                for text in nasty {
                    var spec = tcpSpec(name: text, host: "192.0.2.1")
                    spec["options"] = ["interface": "eth0"]
                    let r = try await client.send(
                        .post,
                        "/api/v1/tests",
                        as: op,
                        json: ["spec": spec, "agents": ["a"]]
                    )
                    #expect(r.status == .created, "\(text): \(r.errorMessage)")
                    #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
                    #expect(try r.json()["name"] as? String == text)
                }
                let stored = try await h.store.tests().map(\.spec.name)
                #expect(stored == nasty)
                // Every other free-text field of a spec, through an http test.
                for text in nasty {
                    let spec: [String: Any] = [
                        "name": "http", "target": ["url": "https://192.0.2.1/\(text)", "host": text],
                        "probes": [
                            [
                                "kind": "PROBE_KIND_HTTP",
                                "http": ["expectSubstring": text, "headers": ["X-Test": text]],
                            ]
                        ],
                        "schedule": ["intervalMs": 60_000],
                        "options": ["interface": text, "sourceAddress": text],
                    ]
                    let r = try await client.send(
                        .post,
                        "/api/v1/tests",
                        as: op,
                        json: ["spec": spec, "agents": ["a"]]
                    )
                    #expect(r.status == .created, "\(text): \(r.errorMessage)")
                    let id = try #require(try r.json()["id"] as? Int)
                    let record = try #require(try await h.store.test(TestID(Int64(id))))
                    #expect(record.spec.target.host == text)
                    #expect(record.spec.target.url == "https://192.0.2.1/\(text)")
                    #expect(record.spec.options.http.expectSubstring == text)
                    #expect(record.spec.options.http.headers["X-Test"] == text)
                    #expect(record.spec.options.interface == text && record.spec.options.sourceAddress == text)
                }
                let search = try await client.send(.get, "/api/v1/tests?q=%27%3B%20DROP", as: op)
                #expect(try search.json()["total"] as? Int == 2)  // the name, and a host
                let admin = try await client.signIn("admin")
                let token = try await client.send(
                    .post,
                    "/api/v1/tokens",
                    as: admin,
                    json: ["name": "<script>x</script>", "role": "viewer"]
                )
                #expect(try (token.json()["token"] as? [String: Any])?["name"] as? String == "<script>x</script>")
                let badUser = try await client.send(
                    .post,
                    "/api/v1/users",
                    as: admin,
                    json: ["username": "<b>x</b>", "password": "long enough pw", "role": "viewer"]
                )
                #expect(badUser.status == .badRequest)
            }
        }
    }

    @Test("path traversal on static files finds nothing; assets carry the CSP")
    func traversal() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                for path in [
                    "/ui/../Package.swift", "/ui/%2e%2e/%2e%2e/Package.swift", "/ui/..%2fGateway.swift",
                    "/ui//etc/passwd",
                    "/ui/pages/../../../../etc/passwd", "/ui/%252e%252e/x",
                ] {
                    let r = try await client.send(.get, path)
                    #expect(r.status == .notFound, "\(path): \(r.status)")
                    #expect(!String(buffer: r.body).contains("root:"))
                }
                let index = try await client.send(.get, "/")
                #expect(index.status == .ok)
                #expect(index.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                #expect(index.headers[.frameOptions] == "DENY")
                let app = try await client.send(.get, "/ui/app.js")
                #expect(app.status == .ok)
                #expect(app.headers[.contentType]?.hasPrefix("text/javascript") == true)
                let etag = try #require(app.headers[.eTag])
                let again = try await client.execute(uri: "/ui/app.js", method: .get, headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified)
            }
        }
    }

    @Test("bad query parameters and ids are 400/404 with a reason")
    func badQueries() async throws {
        try await GatewayHarness.with { h in
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let cases: [(String, HTTPResponse.Status)] = [
                    ("/api/v1/tests/abc", .badRequest), ("/api/v1/tests/0", .badRequest),
                    ("/api/v1/tests/999", .notFound),
                    ("/api/v1/tests?limit=100000", .badRequest), ("/api/v1/tests?state=weird", .badRequest),
                    ("/api/v1/results", .badRequest), ("/api/v1/results?test=1&from=yesterday", .badRequest),
                    ("/api/v1/results?test=1&format=xml", .badRequest),
                    ("/api/v1/results/series?test=1&points=5", .badRequest),
                    ("/api/v1/agents/..%2f..", .badRequest), ("/api/v1/agents/nobody", .notFound),
                    ("/api/v1/mesh?kind=dns", .badRequest), ("/api/v1/nonexistent", .notFound),
                ]
                for (uri, status) in cases {
                    let r = try await client.send(.get, uri, as: viewer)
                    #expect(r.status == status, "\(uri): \(r.status) \(r.errorMessage)")
                    #expect(!r.errorMessage.isEmpty)
                }
            }
        }
    }
}

func json(_ object: Any) -> String {
    String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
}

@Suite("Gateway raw JSON splicing and the sign-in cache")
struct SplicingAndCacheTests {
    @Test("a user string shaped like a placeholder is never replaced by embedded JSON")
    func forgedPlaceholder() async throws {
        struct Item: Encodable {
            var name: String
            var spec: RawJSON
        }
        let forged = "\u{1}raw:0:0\u{1}"
        let body = try JSONResponse.encode([Item(name: forged, spec: RawJSON(data: Data("{\"a\":1}".utf8)))])
        let parsed = try #require(try JSONSerialization.jsonObject(with: body) as? [[String: Any]])
        #expect(parsed[0]["name"] as? String == forged)
        #expect((parsed[0]["spec"] as? [String: Any])?["a"] as? Int == 1)
    }

    @Test("the principal cache expires and is cleared")
    func cache() async throws {
        let cache = PrincipalCache(ttl: .milliseconds(100))
        let principal = Principal(username: "u", role: .viewer, method: .token(id: 1))
        cache.store("k", principal)
        #expect(cache.lookup("k") == principal)
        cache.clear()
        #expect(cache.lookup("k") == nil)
        cache.store("k", principal)
        try await Task.sleep(for: .milliseconds(150))
        #expect(cache.lookup("k") == nil)
        #expect(PrincipalCache(ttl: .zero).lookup("k") == nil)
    }
}
