// why: bytes values are Foundation Data.
public import Foundation
// why: decoding starts from the generated TypedValue message.
public import SwarmGNMIProto
import SwiftProtobuf

/// A decoded gNMI leaf value. Every `TypedValue` form decodes, including the deprecated
/// `float_val` and `decimal_val` older devices still send (gNMI spec §2.2.3), and JSON /
/// JSON_IETF leaves (RFC 7951 sends 64-bit integers as strings).
public enum GNMIValue: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case uint(UInt64)
    case bool(Bool)
    case bytes(Data)
    case double(Double)
    /// A `Decimal64`: digits × 10^-precision, kept exact.
    case decimal(digits: Int64, precision: UInt32)
    case list([GNMIValue])
    /// JSON (`json_val`) or RFC 7951 JSON (`json_ietf_val`), parsed.
    case json(JSONLeaf)
    case ascii(String)
    case protoBytes(Data)
    /// `google.protobuf.Any`: the type URL and packed bytes.
    case any(typeURL: String, value: Data)

    public enum JSONLeaf: Sendable, Hashable {
        case null
        case bool(Bool)
        case unsigned(UInt64)
        case number(Double)
        case string(String)
        case array([JSONLeaf])
        case object([String: JSONLeaf])
    }

    public init(_ typed: Gnmi_TypedValue) throws(GNMIError) {
        switch typed.value {
        case .stringVal(let v): self = .string(v)
        case .intVal(let v): self = .int(v)
        case .uintVal(let v): self = .uint(v)
        case .boolVal(let v): self = .bool(v)
        case .bytesVal(let v): self = .bytes(v)
        case .floatVal(let v): self = .double(Double(v))
        case .doubleVal(let v): self = .double(v)
        case .decimalVal(let d): self = .decimal(digits: d.digits, precision: d.precision)
        case .leaflistVal(let list):
            var values: [GNMIValue] = []
            for element in list.element { values.append(try GNMIValue(element)) }
            self = .list(values)
        case .anyVal(let any): self = .any(typeURL: any.typeURL, value: any.value)
        case .jsonVal(let data): self = .json(try Self.parseJSON(data, form: "json_val"))
        case .jsonIetfVal(let data): self = .json(try Self.parseJSON(data, form: "json_ietf_val"))
        case .asciiVal(let v): self = .ascii(v)
        case .protoBytes(let v): self = .protoBytes(v)
        case nil: throw GNMIError(code: .undecodableValue, message: "TypedValue has no value set")
        }
    }

    /// The value as a number where it is one (counters, gauges, decimals, numeric strings).
    public var number: Double? {
        switch self {
        case .int(let v): Double(v)
        case .uint(let v): Double(v)
        case .double(let v): v
        case .decimal(let digits, let precision): Double(digits) / pow(10, Double(precision))
        case .string(let s), .ascii(let s): Double(s)
        case .json(let leaf): leaf.number
        case .bool, .bytes, .list, .protoBytes, .any: nil
        }
    }

    /// The value as an unsigned counter, exact for uint64 values above 2^53.
    public var counter: UInt64? {
        switch self {
        case .uint(let v): v
        case .int(let v): v >= 0 ? UInt64(v) : nil
        case .string(let s), .ascii(let s): UInt64(s)
        case .json(.string(let s)): UInt64(s)
        case .json(.unsigned(let u)): u
        case .json(.number(let d)), .double(let d): d >= 0 && d < 1.8e19 ? UInt64(d) : nil
        case .decimal: number.flatMap { $0 >= 0 ? UInt64($0) : nil }
        default: nil
        }
    }

    /// The value as text (enumerations and identities such as `UP` or `openconfig-if-ethernet:SPEED_10GB`).
    public var text: String? {
        switch self {
        case .string(let s), .ascii(let s): s
        case .json(.string(let s)): s
        case .json(.bool(let b)): b ? "true" : "false"
        case .bool(let b): b ? "true" : "false"
        case .int(let v): String(v)
        case .uint(let v): String(v)
        default: nil
        }
    }

    static func parseJSON(_ data: Data, form: String) throws(GNMIError) -> JSONLeaf {
        do {
            return try JSONDecoder().decode(JSONLeaf.self, from: data)
        } catch {
            let preview = String(decoding: data.prefix(60), as: UTF8.self)
            throw GNMIError(code: .undecodableValue, message: "\(form) is not valid JSON (\(preview))")
        }
    }
}

extension GNMIValue.JSONLeaf: Decodable {
    public init(from decoder: any Swift.Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let u = try? container.decode(UInt64.self) {
            // Exact for counters above 2^53, which a Double would round.
            self = .unsigned(u)
        } else if let d = try? container.decode(Double.self) {
            self = .number(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([Self].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: Self].self))
        }
    }

    var number: Double? {
        switch self {
        case .number(let d): d
        case .unsigned(let u): Double(u)
        case .string(let s): Double(s)
        default: nil
        }
    }
}
