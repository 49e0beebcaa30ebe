// why: the gateway's JSON API takes and returns SwarmCore domain values.
public import Foundation
public import SwarmCore
import SwarmProto
import SwiftProtobuf

/// The proto3 JSON mapping of mesh types, for the gateway and `--json` output: one place turns
/// domain values into the JSON every client sees, and back.
public enum MeshJSON {
    private static var encoding: JSONEncodingOptions {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = false
        return options
    }

    public static func testSpec(_ spec: TestSpec) throws -> Data {
        try TestSpecMapping.proto(spec).jsonUTF8Data(options: encoding)
    }

    /// Decodes a test spec from proto3 JSON. Unknown fields are refused, so a typo is an error
    /// rather than a silently ignored setting.
    /// - Throws: ``WireError`` `.invalidField` saying what did not parse.
    public static func testSpec(json: Data) throws -> TestSpec {
        do {
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = false
            options.messageDepthLimit = 20
            var message = try Streamswarm_Mesh_V1_TestSpec(jsonUTF8Data: json, options: options)
            // proto3 JSON omits zero values, so an absent timeout or count means "the default",
            // never "1 ms" (an absent interval keeps its proto meaning: run once).
            if message.schedule.timeoutMs == 0 { message.schedule.timeoutMs = 5000 }
            if message.schedule.count == 0 { message.schedule.count = 1 }
            return TestSpecMapping.spec(message)
        } catch {
            // Our words, not the decoder's: the decoder's own description stays in the cause.
            throw WireError(code: .invalidField, message: "the test spec \(Self.reason(error))", cause: error)
        }
    }

    static func reason(_ error: any Error) -> String {
        switch error as? JSONDecodingError {
        case .unknownField(let name): "has an unknown field '\(name.prefix(100))'"
        case .unrecognizedEnumValue: "has a value that is not one of the field's allowed names"
        case .malformedNumber, .numberRange, .leadingZero: "has a number that is malformed or out of range"
        case .malformedBool: "has a field that needs true or false"
        case .malformedString, .invalidUTF8: "has a malformed string"
        case .malformedDuration: "has a malformed duration"
        case .illegalNull: "has a null where a value is needed"
        case .messageDepthLimit: "is nested too deeply"
        default: "is not valid proto3 JSON"
        }
    }

    public static func hostFacts(_ host: HostFacts) throws -> Data {
        try MeshCodec.hostFacts(host).jsonUTF8Data(options: encoding)
    }

    public static func load(_ load: LoadSnapshot) throws -> Data {
        try MeshCodec.load(load).jsonUTF8Data(options: encoding)
    }

    /// A stored result payload of `kind` as proto3 JSON.
    public static func result(kind: ProbeKind, payload: Data) throws -> Data {
        Data(try MeasurementEncoding.resultJSON(kind: kind, payload: payload).utf8)
    }
}
