import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwarmCore
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

@testable import SwarmGateway

@Suite("Gateway reports: GET /api/v1/reports streams a PDF")
struct ReportAPITests {
    /// An hour of tcp runs from agent a, one a minute.
    func seed(_ store: SQLiteStore, now: Timestamp) async throws -> TestRecord {
        let a = try #require(AgentName("a"))
        let test = try await store.createTest(
            TestSpec(name: "web edge", probes: [.tcp], target: .init(host: "192.0.2.10", port: 443)),
            agents: [a]
        )
        let rows = (0..<60).map { (step: Int) -> MeasurementRecord in
            let value = Double(10_000 + 100 * (step % 7))
            return MeasurementRecord(
                testID: test.id,
                revision: 1,
                agent: a,
                sequence: UInt64(step + 1),
                kind: .tcp,
                startedAt: now - .seconds(60 * (60 - step)),
                duration: .milliseconds(20),
                status: .ok,
                value: value,
                figures: MeasurementFigures(),
                payload: Data()
            )
        }
        _ = try await store.commitBatches([IncomingBatch(agent: a, batchID: 1, measurements: rows)])
        return test
    }

    @Test("viewers get a PDF of a test's period; anonymous callers, bad scopes, papers and periods are refused")
    func report() async throws {
        try await GatewayHarness.with { h in
            let now = Timestamp.now()
            let test = try await seed(h.store, now: now)
            let from = (now - .seconds(3600)).iso8601
            let to = now.iso8601
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let uri = "/api/v1/reports?scope=test:\(test.id)&from=\(from)&to=\(to)"
                let anonymous = try await client.send(.get, uri)
                #expect(anonymous.status == .unauthorized)
                let ok = try await client.send(.get, uri, as: viewer)
                #expect(ok.status == .ok, "\(ok.errorMessage)")
                #expect(ok.headers[.contentType] == "application/pdf")
                let day = String(now.iso8601.prefix(10))
                #expect(ok.headers[.contentDisposition]?.contains("streamswarm-test-\(test.id)-") == true)
                #expect(ok.headers[.contentDisposition]?.hasSuffix("-\(day).pdf\"") == true)
                let bytes = Data(ok.body.readableBytesView)
                #expect(bytes.starts(with: Data("%PDF-".utf8)))
                try await withTemporaryDirectory { dir in
                    let path = "\(dir)/report.pdf"
                    try bytes.write(to: URL(fileURLWithPath: path))
                    let text = try PDFFile(path: path, scratch: dir).text()
                    #expect(text.contains("Test report: web edge") && text.contains("viewer"))
                    #expect(text.contains("runs") && text.contains("60"))
                }

                for (query, status, message) in [
                    ("scope=test:abc", HTTPResponse.Status.badRequest, "the test id must be a positive number"),
                    ("scope=router:r1", .badRequest, "is not one of swarm, test:ID, agent:NAME"),
                    ("scope=test:999", .notFound, "there is no test 999"),
                    ("scope=agent:ghost", .notFound, "there is no agent ghost"),
                    ("scope=swarm&paper=a3", .badRequest, "paper must be a4 or letter"),
                    ("scope=swarm&from=\(to)&to=\(from)", .badRequest, "the period is empty"),
                    ("scope=swarm&from=yesterday", .badRequest, "'from' must be an RFC 3339 time"),
                ] {
                    let refused = try await client.send(.get, "/api/v1/reports?\(query)", as: viewer)
                    #expect(
                        refused.status == status && refused.errorMessage.contains(message),
                        "\(query): \(refused.errorMessage)"
                    )
                }

                // Several at once: each is a PDF or a 429 saying when to retry, never an error.
                let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, Bool).self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            let r = try await client.send(
                                .get,
                                "/api/v1/reports?scope=swarm&from=\(from)&to=\(to)",
                                as: viewer
                            )
                            return (
                                r.status, r.headers[.retryAfter],
                                Data(r.body.readableBytesView).starts(with: Data("%PDF".utf8))
                            )
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(
                    statuses.allSatisfy { ($0.0 == .ok && $0.2) || ($0.0 == .tooManyRequests && $0.1 == "5") },
                    "\(statuses)"
                )
                #expect(statuses.contains { $0.0 == .ok })
            }
        }
    }

    @Test("operators add and delete report schedules, viewers list them; bad input and a channel in use are refused")
    func schedules() async throws {
        try await GatewayHarness.with { h in
            let channel = try await h.store.createAlertChannel(
                AlertChannelSpec(
                    name: "noc-mail",
                    kind: .email,
                    url: "smtp://127.0.0.1:25",
                    sender: "swarm@example.net",
                    recipients: ["noc@example.net"]
                )
            )
            try await h.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let op = try await client.signIn("operator")
                let admin = try await client.signIn("admin")
                let weekly: [String: Any] = [
                    "name": "weekly", "scope": "swarm", "cadence": "weekly", "channel": "noc-mail",
                ]
                #expect(
                    try await client.send(.post, "/api/v1/report-schedules", as: viewer, json: weekly).status
                        == .forbidden
                )
                let made = try await client.send(.post, "/api/v1/report-schedules", as: op, json: weekly)
                #expect(made.status == .created, "\(made.errorMessage)")
                let id = try #require(try made.json()["id"] as? Int)
                #expect(
                    try made.json()["createdBy"] as? String == "operator" && made.json()["paper"] as? String == "a4"
                )
                #expect(
                    try await client.send(.post, "/api/v1/report-schedules", as: op, json: weekly).status == .conflict
                )
                for (field, value, message) in [
                    ("cadence", "hourly", "'cadence' must be daily or weekly"),
                    ("scope", "router:r1", "is not one of swarm, test:ID, agent:NAME"),
                    ("channel", "nowhere", "there is no channel nowhere"),
                    ("paper", "a3", "'paper' must be a4 or letter"),
                ] {
                    var body = weekly
                    body["name"] = "bad-\(field)"
                    body[field] = value
                    let refused = try await client.send(.post, "/api/v1/report-schedules", as: op, json: body)
                    #expect(
                        refused.status == .badRequest && refused.errorMessage.contains(message),
                        "\(field): \(refused.errorMessage)"
                    )
                }
                var unknown = weekly
                unknown["hour"] = 6
                let strict = try await client.send(.post, "/api/v1/report-schedules", as: op, json: unknown)
                #expect(strict.status == .badRequest && strict.errorMessage.contains("unknown field 'hour'"))

                let listed = try await client.send(.get, "/api/v1/report-schedules", as: viewer)
                let schedules = try #require(try listed.json()["schedules"] as? [[String: Any]])
                #expect(schedules.count == 1 && schedules.first?["cadence"] as? String == "weekly")
                let inUse = try await client.send(.delete, "/api/v1/alert-channels/\(channel.id)", as: admin)
                #expect(
                    inUse.status == .conflict && inUse.errorMessage.contains("report schedule weekly mails through")
                )
                #expect(
                    try await client.send(.delete, "/api/v1/report-schedules/\(id)", as: viewer).status == .forbidden
                )
                #expect(try await client.send(.delete, "/api/v1/report-schedules/\(id)", as: op).status == .noContent)
                #expect(try await client.send(.delete, "/api/v1/report-schedules/\(id)", as: op).status == .notFound)
                #expect(
                    try await client.send(.delete, "/api/v1/alert-channels/\(channel.id)", as: admin).status
                        == .noContent
                )
            }
        }
    }
}
