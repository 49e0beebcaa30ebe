import Foundation
import Hummingbird
import Logging
import SwarmCore
import SwarmStore
import SwarmWire

/// Tests: list with search and paging, create (also as a mesh), edit as a new revision, stop,
/// restart, delete and bulk delete.
struct TestRoutes {
    let store: any Store

    struct Write: StrictBody {
        static let fields: Set<String> = ["spec", "agents", "mesh"]
        var spec: JSONValue
        var agents: [String]
        var mesh: Bool?
    }

    struct BulkDelete: StrictBody {
        static let fields: Set<String> = ["ids"]
        var ids: [Int64]
    }

    struct Page: Encodable {
        var tests: [TestDTO]
        var total: Int
    }

    struct Created: Encodable { var tests: [TestDTO] }
    struct Deleted: Encodable { var deleted: Int }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "tests", .role(.viewer)) { request, _ in
            let query = try Self.query(request)
            let page = try await store.tests(matching: query)
            return try JSONResponse.make(Page(tests: try await dtos(page.tests), total: page.total))
        }
        api.on(.post, "tests", .role(.operator)) { request, context in
            let body = try await request.decodeStrict(Write.self, context: context)
            // A mesh spec gets its peer per pair, so it validates then.
            let spec = try Self.spec(body.spec, validate: body.mesh != true)
            let agents = try await Self.knownAgents(body.agents, store: store)
            if body.mesh == true {
                guard agents.count >= 2 else { throw GatewayError.badRequest("a mesh needs at least two agents") }
                var made: [TestRecord] = []
                for from in agents {
                    for to in agents where to != from {
                        var pair = spec
                        pair.name = "\(spec.name) \(from)→\(to)"
                        pair.target.agentName = to.rawValue
                        try Self.check(pair)
                        made.append(try await create(pair, agents: [from], context: context))
                    }
                }
                return try JSONResponse.make(Created(tests: try await dtos(made)), status: .created)
            }
            let record = try await create(spec, agents: agents, context: context)
            return try JSONResponse.make(try await dto(record), status: .created)
        }
        api.on(.get, "tests/:id", .role(.viewer)) { _, context in
            try JSONResponse.make(try await dto(try await existing(context)))
        }
        api.on(.put, "tests/:id", .role(.operator)) { request, context in
            let current = try await existing(context)
            try Self.mayChange(current, context)
            let body = try await request.decodeStrict(Write.self, context: context)
            guard body.mesh != true else { throw GatewayError.badRequest("'mesh' applies to creating tests only") }
            let spec = try Self.spec(body.spec)
            let agents = try await Self.knownAgents(body.agents, store: store)
            var record = try await store.reviseTest(current.id, spec: withStart(spec))
            if Set(agents) != Set(record.agents) { record = try await store.reassignTest(current.id, agents: agents) }
            try await log(context, "test.revised", record.id, "test \(record.id) edited: revision \(record.revision)")
            return try JSONResponse.make(try await dto(record))
        }
        api.on(.post, "tests/:id/stop", .role(.operator)) { _, context in
            let current = try await existing(context)
            try Self.mayChange(current, context)
            let record = try await store.cancelTest(current.id)
            try await log(context, "test.stopped", record.id, "test \(record.id) stopped")
            return try JSONResponse.make(try await dto(record))
        }
        api.on(.post, "tests/:id/restart", .role(.operator)) { _, context in
            let current = try await existing(context)
            try Self.mayChange(current, context)
            let record = try await store.restartTest(current.id, spec: Self.restarted(current.spec, now: .now()))
            try await log(
                context,
                "test.restarted",
                record.id,
                "test \(record.id) restarted: revision \(record.revision)"
            )
            return try JSONResponse.make(try await dto(record))
        }
        api.on(.delete, "tests/:id", .role(.operator)) { _, context in
            let id = try Self.testID(context)
            if let current = try await store.test(id) { try Self.mayChange(current, context) }
            guard try await store.deleteTests([id]) == 1 else {
                throw GatewayError.notFound("test \(id) does not exist")
            }
            try await log(context, "test.deleted", id, "test \(id) deleted with its results")
            return JSONResponse.noContent
        }
        api.on(.post, "tests/bulk-delete", .role(.operator)) { request, context in
            let body = try await request.decodeStrict(BulkDelete.self, context: context)
            guard (1...1000).contains(body.ids.count) else {
                throw GatewayError.badRequest("send 1 to 1000 test ids in 'ids'")
            }
            for id in body.ids {
                if let current = try await store.test(TestID(id)) { try Self.mayChange(current, context) }
            }
            let deleted = try await store.deleteTests(body.ids.map(TestID.init))
            try await store.appendEvent(
                EventRecord(
                    kind: "test.deleted",
                    subject: body.ids.map(String.init).joined(separator: ","),
                    message: "\(deleted) tests deleted by \(context.principal?.username ?? "?")"
                )
            )
            return try JSONResponse.make(Deleted(deleted: deleted))
        }
    }

    // MARK: - Helpers

    /// Device-collection tests belong to their device, which only admins add and remove: an
    /// operator may not stop, restart, rewrite or delete one (it would silently end collection).
    static func mayChange(_ test: TestRecord, _ context: GatewayContext) throws {
        guard test.spec.probes.contains(.gnmi), context.principal?.role != .admin else { return }
        throw GatewayError.forbidden(
            "test \(test.id) collects from a managed device; only an admin changes it (Devices page or /api/v1/devices)"
        )
    }

    private func create(_ spec: TestSpec, agents: [AgentName], context: GatewayContext) async throws -> TestRecord {
        let record = try await store.createTest(withStart(spec), agents: agents)
        try await log(
            context,
            "test.created",
            record.id,
            "test \(record.id) '\(record.spec.name)' created on \(agents.map(\.rawValue).joined(separator: ", "))"
        )
        return record
    }

    /// A recurring test without a start begins now: agents and scheduler then share one base time.
    private func withStart(_ spec: TestSpec) -> TestSpec {
        var spec = spec
        if spec.recurs && spec.schedule.start == nil { spec.schedule.start = .now() }
        return spec
    }

    /// Restart runs the test again now: its window moves to start now and keeps its length and recurrence.
    static func restarted(_ spec: TestSpec, now: Timestamp) -> TestSpec {
        var spec = spec
        if let start = spec.schedule.start {
            let length = spec.schedule.end.map { $0 - start }
            spec.schedule.start = now
            spec.schedule.end = length.map { now + $0 }
        } else if let end = spec.schedule.end, end <= now {
            spec.schedule.end = nil
        }
        if spec.recurs && spec.schedule.start == nil { spec.schedule.start = now }
        return spec
    }

    private func log(_ context: GatewayContext, _ kind: String, _ id: TestID, _ message: String) async throws {
        let who = context.principal?.username ?? "?"
        context.logger.info("\(message) by \(who)")
        try await store.appendEvent(EventRecord(kind: kind, subject: "\(id)", message: "\(message) by \(who)"))
    }

    private func existing(_ context: GatewayContext) async throws -> TestRecord {
        let id = try Self.testID(context)
        guard let record = try await store.test(id) else { throw GatewayError.notFound("test \(id) does not exist") }
        return record
    }

    private func dto(_ record: TestRecord) async throws -> TestDTO {
        try TestDTO(record, progress: try await store.progress(test: record.id))
    }

    private func dtos(_ records: [TestRecord]) async throws -> [TestDTO] {
        var out: [TestDTO] = []
        for record in records { out.append(try await dto(record)) }
        return out
    }

    static func testID(_ context: GatewayContext) throws -> TestID {
        let raw = try context.parameters.require("id")
        guard let value = Int64(raw), value > 0 else {
            throw GatewayError.badRequest("test id must be a positive integer")
        }
        return TestID(value)
    }

    static func spec(_ json: JSONValue, validate: Bool = true) throws -> TestSpec {
        guard case .object = json else {
            throw GatewayError.badRequest("'spec' must be a TestSpec object (proto3 JSON)")
        }
        let spec: TestSpec
        do {
            spec = try MeshJSON.testSpec(json: try json.data())
        } catch let error as WireError {
            throw GatewayError.badRequest(error.message)
        }
        if validate { try check(spec) }
        return spec
    }

    static func check(_ spec: TestSpec) throws {
        if spec.probes.contains(.gnmi) {
            throw GatewayError.badRequest("gnmi collection is set up per device: POST /api/v1/devices")
        }
        do { try spec.validate() } catch { throw GatewayError.badRequest(error.description) }
    }

    /// The named agents, each of which must have connected at least once: a typo should be an
    /// error, not a phantom agent that never reports.
    static func knownAgents(_ names: [String], store: any AgentStore) async throws -> [AgentName] {
        let agents = try Self.agents(names)
        let known = Set(try await store.agents().map(\.name))
        if let unknown = agents.first(where: { !known.contains($0) }) {
            let list = known.map(\.rawValue).sorted().prefix(20).joined(separator: ", ")
            throw GatewayError.badRequest(
                "agent \(unknown) has never connected: check the name (known agents: \(list.isEmpty ? "none yet" : list))"
            )
        }
        return agents
    }

    static func agents(_ names: [String]) throws -> [AgentName] {
        guard !names.isEmpty, names.count <= 1000 else {
            throw GatewayError.badRequest("'agents' needs 1 to 1000 agent names")
        }
        return try names.map { raw in
            guard let name = AgentName(raw) else {
                throw GatewayError.badRequest("'\(raw.prefix(80))' is not an agent name (1–63 of A-Z a-z 0-9 . _ -)")
            }
            return name
        }
    }

    static func query(_ request: Request) throws -> TestQuery {
        let q = request.uri.queryParameters
        var query = TestQuery()
        query.text = String((q["q"] ?? "").prefix(200))
        if let state = q["state"], !state.isEmpty {
            guard let value = TestState(rawValue: String(state)) else {
                throw GatewayError.badRequest("state must be active or cancelled")
            }
            query.state = value
        }
        if let parent = q["parent"], !parent.isEmpty {
            guard let id = Int64(parent) else { throw GatewayError.badRequest("parent must be a test id") }
            query.parent = TestID(id)
        }
        if let limit = q["limit"] {
            guard let value = Int(limit), (1...500).contains(value) else {
                throw GatewayError.badRequest("limit must be 1...500")
            }
            query.limit = value
        }
        if let offset = q["offset"] {
            guard let value = Int(offset), value >= 0 else { throw GatewayError.badRequest("offset must be 0 or more") }
            query.offset = value
        }
        return query
    }
}
