import Foundation
import SwarmCore
import SwarmWire
import Testing

/// Every option of every probe kind: the schema, the test form and the spec mapping agree, and
/// each option, set on its own, survives the mapping the agent and the store see (the defect this
/// guards against: options the form offered and the mapping dropped, so they did nothing).
@Suite("Probe options: schema, form and mapping agree; none is dropped")
struct OptionWalkTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Kinds the test form offers options for; gnmi tests are made from the Devices page.
    static let kinds = ["icmp", "udp", "tcp", "dns", "http", "traceroute", "mtu", "bandwidth", "system"]

    /// Option fields per kind from `test_spec.proto`, as proto3 JSON names.
    static func schemaOptions() throws -> [String: [String]] {
        let proto = try String(
            contentsOf: root.appendingPathComponent("Proto/streamswarm/mesh/v1/test_spec.proto"),
            encoding: .utf8
        )
        var result: [String: [String]] = [:]
        for kind in kinds {
            let message =
                kind == "traceroute" ? "TracerouteOptions" : kind.prefix(1).uppercased() + kind.dropFirst() + "Options"
            let start = try #require(proto.range(of: "message \(message) {"), "no \(message) in the schema")
            var depth = 0
            var body = ""
            for character in proto[start.upperBound...] {
                if character == "{" { depth += 1 }
                if character == "}" {
                    if depth == 0 { break }
                    depth -= 1
                }
                if depth == 0 { body.append(character) }
            }
            result[kind] = body.split(separator: "\n").compactMap { line -> String? in
                let code = line.split(separator: "//").first.map(String.init) ?? ""
                let words = code.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard let eq = words.firstIndex(of: "="), eq >= 2, words[0] != "reserved" else { return nil }
                return Self.camel(String(words[eq - 1]))
            }
        }
        return result
    }

    static func camel(_ snake: String) -> String {
        let parts = snake.split(separator: "_")
        return ([String(parts[0])] + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }).joined()
    }

    /// The keys `spec.js` offers per kind (KIND_OPTIONS).
    static func formOptions() throws -> [String: [String]] {
        let js = try String(
            contentsOf: root.appendingPathComponent("Sources/SwarmGateway/Resources/ui/spec.js"),
            encoding: .utf8
        )
        let start = try #require(js.range(of: "export const KIND_OPTIONS = {"))
        let end = try #require(js.range(of: "\n};", range: start.upperBound..<js.endIndex))
        var result: [String: [String]] = [:]
        var current: String?
        for line in js[start.upperBound..<end.lowerBound].split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasSuffix(": [") { current = String(trimmed.dropLast(3)) }
            if let current, let key = trimmed.firstMatch(of: /key: '([A-Za-z]+)'/) {
                result[current, default: []].append(String(key.1))
            }
        }
        return result
    }

    @Test("the test form offers exactly the schema's options for every kind")
    func formMatchesSchema() throws {
        let schema = try Self.schemaOptions()
        let form = try Self.formOptions()
        #expect(Set(form.keys) == Set(Self.kinds))
        for kind in Self.kinds {
            #expect(
                Set(form[kind] ?? []) == Set(schema[kind] ?? []),
                "\(kind): form \(form[kind] ?? []) schema \(schema[kind] ?? [])"
            )
        }
    }

    /// A value unlike what an absent option decodes to, by option.
    static var candidates: [String: [Any]] {
        [
            "packetIntervalMs": [37], "packetsPerSecond": [37], "durationMs": [1700], "voice": [true, false],
            "ecn": [2], "send": ["aGVsbG8="], "expect": ["b2s="], "server": ["127.0.0.1"], "recordType": ["MX"],
            "tcp": [true, false], "recursionDesired": [false, true], "method": ["HEAD"],
            "followRedirects": [true, false],
            "maxRedirects": [3], "expectSubstring": ["welcome"], "headers": [["X-Probe": "walk"]],
            "insecureSkipVerify": [true, false], "mode": ["MODE_TCP_SYN"], "maxHops": [9], "probesPerHop": [2],
            "resolveNames": [true, false], "minBytes": [700], "maxBytes": [1400], "direction": ["DIRECTION_BOTH"],
            "streams": [3], "perCore": [true, false], "perProcessSummary": [true, false],
        ]
    }

    /// What proto3 JSON leaves out: an absent field is its type's zero.
    static func protoDefault(like value: Any) -> Any {
        switch value {
        case is Bool: false
        case is Int: 0
        case is String: ""
        default: [String: String]()
        }
    }

    static func specJSON(kind: String, options: [String: Any]?) throws -> Data {
        var probe: [String: Any] = ["kind": "PROBE_KIND_\(kind.uppercased())"]
        if let options { probe[kind] = options }
        let target: [String: Any] =
            switch kind {
            case "http": ["url": "http://127.0.0.1:8080/"]
            case "system": [:]
            default: ["host": "127.0.0.1", "port": 5000]
            }
        return try JSONSerialization.data(withJSONObject: ["name": "walk", "probes": [probe], "target": target])
    }

    /// The probe's options as the mapping hands them on: the spec's proto JSON after a round trip.
    static func mappedOptions(_ json: Data, kind: String) throws -> [String: Any] {
        let spec = try MeshJSON.testSpec(json: json)
        let back = try JSONSerialization.jsonObject(with: MeshJSON.testSpec(spec)) as? [String: Any]
        let probe = (back?["probes"] as? [[String: Any]])?.first
        return probe?[kind] as? [String: Any] ?? [:]
    }

    @Test("each option set on its own survives the spec mapping with its value", arguments: kinds)
    func everyOptionIsKept(kind: String) throws {
        let schema = try Self.schemaOptions()
        let baseline = try Self.mappedOptions(Self.specJSON(kind: kind, options: nil), kind: kind)
        for option in schema[kind] ?? [] {
            let values = try #require(Self.candidates[option], "no candidate value for \(kind).\(option): add one")
            var kept = false
            for value in values {
                let mapped = try Self.mappedOptions(Self.specJSON(kind: kind, options: [option: value]), kind: kind)
                let sent = try JSONSerialization.data(withJSONObject: [option: value], options: .sortedKeys)
                let got = try JSONSerialization.data(
                    withJSONObject: [option: mapped[option] ?? Self.protoDefault(like: value)],
                    options: .sortedKeys
                )
                let unchanged =
                    (try? JSONSerialization.data(withJSONObject: baseline, options: .sortedKeys))
                    == (try? JSONSerialization.data(withJSONObject: mapped, options: .sortedKeys))
                if sent == got && !unchanged {
                    kept = true
                    break
                }
            }
            #expect(kept, "\(kind).\(option) is dropped or changed by the spec mapping")
        }
    }
}
