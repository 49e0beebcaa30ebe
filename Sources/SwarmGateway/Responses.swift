// why: MeasurementJSON (public, for the CLI) takes SwarmCore records and returns Foundation Data.
public import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
public import SwarmCore
import SwarmStore
import SwarmWire

/// Builds JSON responses. Field names follow the API contract (lowerCamelCase, like proto3 JSON).
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    /// JSON bytes with ``RawJSON`` fields spliced in.
    static func encode<T: Encodable>(_ value: T, sortedKeys: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = sortedKeys ? [.withoutEscapingSlashes, .sortedKeys] : [.withoutEscapingSlashes]
        let splicer = RawJSONSplicer()
        encoder.userInfo[RawJSONSplicer.key] = splicer
        return splicer.splice(try encoder.encode(value))
    }

    static var noContent: Response { Response(status: .noContent) }
}

struct AgentDTO: Encodable {
    var name: String
    var online: Bool
    var state: String
    var version: String
    var firstSeen: String?
    var lastSeen: String?
    var wentOfflineAt: String?
    var host: RawJSON?
    var load: RawJSON?
    var spoolDepth: UInt64
    var revoked: Bool
    var revokedAt: String?
    var tests: [Int64]
    /// The agent reported a version other than this gateway's (the server's build): upgrade it.
    var versionDrift: Bool

    init(_ record: AgentRecord, tests: [TestID], serverVersion: String) throws {
        name = record.name.rawValue
        online = record.online && record.revokedAt == nil
        state = record.revokedAt != nil ? "revoked" : (record.online ? "online" : "offline")
        version = record.agentVersion
        firstSeen = record.firstSeen?.iso8601
        lastSeen = record.lastSeen?.iso8601
        wentOfflineAt = record.wentOfflineAt?.iso8601
        host = try record.host.map { RawJSON(data: try MeshJSON.hostFacts($0)) }
        load = try record.load.map { RawJSON(data: try MeshJSON.load($0)) }
        spoolDepth = record.load?.spoolDepth ?? 0
        revoked = record.revokedAt != nil
        revokedAt = record.revokedAt?.iso8601
        self.tests = tests.map(\.rawValue)
        versionDrift = !record.agentVersion.isEmpty && record.agentVersion != serverVersion
    }
}

struct TestDTO: Encodable {
    struct Progress: Encodable {
        var results: Int
        var lastResultAt: String?
    }
    var id: Int64
    var name: String
    var revision: Int
    var state: String
    var phase: String
    var spec: RawJSON
    var agents: [String]
    var createdAt: String
    var updatedAt: String
    var parentId: Int64?
    var occurrence: Int
    var nextRunAt: String?
    var progress: Progress

    init(_ record: TestRecord, progress: TestProgress, now: Timestamp = .now()) throws {
        id = record.id.rawValue
        name = record.spec.name
        revision = record.revision
        state = record.state.rawValue
        if record.state == .cancelled {
            phase = "cancelled"
            nextRunAt = nil
        } else if record.agents.isEmpty {
            // Its agents were deleted: active in name, but nobody runs it.
            phase = "no-agents"
            nextRunAt = nil
        } else {
            let (phase, next) = record.spec.phase(
                at: now,
                createdAt: record.createdAt,
                hasResults: progress.results > 0
            )
            self.phase = phase.rawValue
            nextRunAt = next?.iso8601
        }
        spec = RawJSON(data: try MeshJSON.testSpec(record.spec))
        agents = record.agents.map(\.rawValue)
        createdAt = record.createdAt.iso8601
        updatedAt = record.updatedAt.iso8601
        parentId = record.parentID?.rawValue
        occurrence = record.occurrence
        self.progress = Progress(results: progress.results, lastResultAt: progress.lastResultAt?.iso8601)
    }
}

/// A stored measurement as the API (and `results show --json`) presents it: indexed fields plus the
/// kind's result message in the proto3 JSON mapping.
public struct MeasurementJSON: Encodable, Sendable {
    var testId: Int64
    var revision: Int
    var agent: String
    var sequence: UInt64
    var kind: String
    var startedAt: String
    var durationMs: Double
    var status: String
    var reason: String
    var value: Double?
    var result: RawJSON

    public init(_ m: MeasurementRecord) throws {
        testId = m.testID.rawValue
        revision = m.revision
        agent = m.agent.rawValue
        sequence = m.sequence
        kind = m.kind.rawValue
        startedAt = m.startedAt.iso8601
        durationMs = Double(m.duration.nanoseconds) / 1e6
        status = m.status.rawValue
        reason = m.reason
        value = m.value
        result =
            RawJSON(data: m.payload.isEmpty ? Data("{}".utf8) : try MeshJSON.result(kind: m.kind, payload: m.payload))
    }
}

struct UserDTO: Encodable {
    var username: String
    var role: String
    var createdAt: String
    var lastLoginAt: String?
    var disabled: Bool

    init(_ user: UserRecord) {
        username = user.username
        role = user.role.rawValue
        createdAt = user.createdAt.iso8601
        lastLoginAt = user.lastLoginAt?.iso8601
        disabled = user.disabled
    }
}

struct TokenDTO: Encodable {
    var id: Int64
    var name: String
    var role: String
    var owner: String
    var createdAt: String
    var lastUsedAt: String?
    var expiresAt: String?
    var prefix: String

    init(_ token: APITokenRecord) {
        id = token.id
        name = token.name
        role = token.role.rawValue
        owner = token.owner
        createdAt = token.createdAt.iso8601
        lastUsedAt = token.lastUsedAt?.iso8601
        expiresAt = token.expiresAt?.iso8601
        prefix = token.prefix
    }
}

struct EventDTO: Encodable {
    var id: Int64
    var at: String
    var kind: String
    var subject: String
    var message: String

    init(_ event: EventRecord) {
        id = event.id
        at = event.at.iso8601
        kind = event.kind
        subject = event.subject
        message = event.message
    }
}

extension MeasurementJSON {
    /// JSON for a list of measurements, as `results show --json` prints it.
    public static func encode(_ records: [MeasurementRecord]) throws -> Data {
        try JSONResponse.encode(try records.map(MeasurementJSON.init), sortedKeys: true)
    }
}
