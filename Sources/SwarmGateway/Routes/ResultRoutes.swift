import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import SwarmCore
import SwarmStore

/// Results: raw rows (JSON or CSV export) and server-side downsampled series for charts.
struct ResultRoutes {
    let store: any Store
    let settings: GatewaySettings

    struct Results: Encodable { var results: [MeasurementJSON] }

    struct Point: Encodable {
        var t: String
        var n: Int
        var ok: Int
        var min: Double?
        var avg: Double?
        var max: Double?
        var low: Double?
        var high: Double?
        var lossPercent: Double?
        var jitterUs: Double?
        /// Percentiles of the values, from rollups (absent for raw buckets).
        var p50: Double?
        var p90: Double?
        var p99: Double?
    }

    struct Series: Encodable {
        var agent: String
        var kind: String
        var points: [Point]
    }

    struct SeriesResponse: Encodable {
        var from: String
        var to: String
        var bucketSeconds: Double
        /// raw, minute or hour: what the buckets were made from (rollups for long or old ranges).
        var resolution: String
        var series: [Series]
    }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "results", .role(.viewer)) { request, _ in
            let q = request.uri.queryParameters
            let test = try Self.test(q)
            let agent = try Self.agent(q)
            let range = try Self.range(q, default: .all)
            let limit = try Self.int(q, "limit", default: 1000, in: 1...10_000)
            let order = q["order"].map(String.init) ?? "desc"
            guard order == "asc" || order == "desc" else { throw GatewayError.badRequest("order must be asc or desc") }
            let rows = try await store.measurements(
                test: test,
                agent: agent,
                range: range,
                limit: limit,
                newestFirst: order == "desc"
            )
            switch q["format"].map(String.init) ?? "json" {
            case "json": return try JSONResponse.make(Results(results: try rows.map(MeasurementJSON.init)))
            case "csv": return try Self.csv(rows, test: test)
            default: throw GatewayError.badRequest("format must be json or csv")
            }
        }
        api.on(.get, "results/series", .role(.viewer)) { request, _ in
            let q = request.uri.queryParameters
            let test = try Self.test(q)
            let agent = try Self.agent(q)
            let now = Timestamp.now()
            var range = try Self.range(q, default: TimeRange(from: now - .seconds(86_400), to: now))
            guard range.to > range.from, range.from.unixNanos > Int64.min / 2 else {
                throw GatewayError.badRequest("series need a bounded range: from < to")
            }
            let points = try Self.int(q, "points", default: 1000, in: 10...10_000)
            var kinds: [ProbeKind] = []
            if let kind = q["kind"], !kind.isEmpty {
                guard let value = ProbeKind(rawValue: String(kind)) else {
                    throw GatewayError.badRequest("unknown kind '\(kind.prefix(40))'")
                }
                kinds = [value]
            }
            let span = (range.to - range.from).nanoseconds
            var bucket = Duration.nanoseconds(max(1_000_000, (span + Int64(points) - 1) / Int64(points)))
            let resolution = SeriesResolution.pick(
                range: range,
                bucket: bucket,
                now: now,
                policy: try await settings.retentionPolicy(),
                rawKeptFrom: try await store.rollupWatermarks()[.raw]
            )
            if let size = resolution.bucket?.nanoseconds {
                // Whole rollup buckets: the range starts on one and each point holds whole ones.
                range.from = Timestamp(unixNanos: range.from.unixNanos - ((range.from.unixNanos % size) + size) % size)
                bucket = .nanoseconds((bucket.nanoseconds + size - 1) / size * size)
            }
            let buckets = try await store.series(
                SeriesQuery(
                    test: test,
                    agent: agent,
                    kinds: kinds,
                    range: range,
                    bucket: bucket,
                    resolution: resolution
                )
            )
            var grouped: [(key: String, series: Series)] = []
            for b in buckets {
                let key = "\(b.agent.rawValue)/\(b.kind.rawValue)"
                if grouped.last?.key != key {
                    grouped.append((key, Series(agent: b.agent.rawValue, kind: b.kind.rawValue, points: [])))
                }
                grouped[grouped.count - 1].series.points.append(
                    Point(
                        t: b.start.iso8601,
                        n: b.count,
                        ok: b.okCount,
                        min: b.min,
                        avg: b.avg,
                        max: b.max,
                        low: b.low,
                        high: b.high,
                        lossPercent: b.lossPercent,
                        jitterUs: b.jitterMicros,
                        p50: b.p50,
                        p90: b.p90,
                        p99: b.p99
                    )
                )
            }
            return try JSONResponse.make(
                SeriesResponse(
                    from: range.from.iso8601,
                    to: range.to.iso8601,
                    bucketSeconds: bucket.seconds,
                    resolution: resolution.rawValue,
                    series: grouped.map(\.series)
                )
            )
        }
    }

    // MARK: - Query parsing

    typealias Query = FlatDictionary<Substring, Substring>

    static func test(_ q: Query) throws -> TestID {
        guard let raw = q["test"], let id = Int64(raw), id > 0 else {
            throw GatewayError.badRequest("the 'test' query parameter (a test id) is required")
        }
        return TestID(id)
    }

    static func agent(_ q: Query) throws -> AgentName? {
        guard let raw = q["agent"], !raw.isEmpty else { return nil }
        guard let name = AgentName(String(raw)) else { throw GatewayError.badRequest("'agent' is not an agent name") }
        return name
    }

    static func range(_ q: Query, default fallback: TimeRange) throws -> TimeRange {
        var range = fallback
        if let from = q["from"], !from.isEmpty {
            guard let value = Timestamp(rfc3339: String(from)) else {
                throw GatewayError.badRequest("'from' must be an RFC 3339 time such as 2026-11-22T10:00:00Z")
            }
            range.from = value
        }
        if let to = q["to"], !to.isEmpty {
            guard let value = Timestamp(rfc3339: String(to)) else {
                throw GatewayError.badRequest("'to' must be an RFC 3339 time such as 2026-11-22T11:00:00Z")
            }
            range.to = value
        }
        return range
    }

    static func int(_ q: Query, _ name: String, default value: Int, in bounds: ClosedRange<Int>) throws -> Int {
        guard let raw = q[Substring(name)] else { return value }
        guard let parsed = Int(raw), bounds.contains(parsed) else {
            throw GatewayError.badRequest("'\(name)' must be \(bounds.lowerBound)...\(bounds.upperBound)")
        }
        return parsed
    }

    // MARK: - CSV

    static func csv(_ rows: [MeasurementRecord], test: TestID) throws -> Response {
        var text = "test_id,revision,agent,sequence,kind,started_at,duration_ms,status,value,reason,result_json\n"
        for m in rows {
            let dto = try MeasurementJSON(m)
            let result = String(decoding: dto.result.data, as: UTF8.self)
            let fields: [String] = [
                String(dto.testId), String(dto.revision), dto.agent, String(dto.sequence), dto.kind, dto.startedAt,
                String(format: "%.3f", dto.durationMs), dto.status, dto.value.map { String($0) } ?? "", dto.reason,
                result,
            ]
            text += fields.map(csvField).joined(separator: ",") + "\n"
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"streamswarm-test-\(test)-results.csv\"",
                .cacheControl: "no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so spreadsheets do not run it as a formula.
    static func csvField(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@".contains(first), Double(value) == nil { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }
}
