import Foundation
import SwarmProto
import SwarmTestSupport
import SwiftProtobuf
import Testing

/// protobuf-c (the C agent's runtime) and swift-protobuf agree byte for byte on every mesh message.
/// The C side (`Tests/swarm-agent-c/proto_conformance.c`) fills every field through protobuf-c's
/// descriptors (each oneof member in turn, proto3 `optional` fields present, zero included) and
/// encodes; swift-protobuf decodes, finds no unknown field and re-encodes the same bytes; protobuf-c
/// decodes that and re-encodes the same bytes again. `scripts/c-agent.sh test` builds the C side
/// (scripts/test.sh runs it before the Swift suites).
@Suite struct CProtobufConformanceTests {
    static let tool = "\(Repository.root)/.build-c/asan/tests/proto_conformance"

    func run(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The oneof case's name: `hello(...)` -> `hello`.
    static func caseName(_ value: Any?) -> String {
        value.map { String(String(describing: $0).prefix { $0 != "(" }) } ?? "none"
    }

    @Test("protobuf-c and swift-protobuf encode every field of every mesh message to the same bytes, both ways")
    func everyField() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.tool) else {
            Issue.record("\(Self.tool) is missing: run scripts/c-agent.sh test (scripts/test.sh does) first")
            return
        }
        try await withTemporaryDirectory { dir in
            #expect(try run(["corpus", dir]) == 0)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".bin") }
                .sorted()
            #expect(files.count == 60)
            var bodies = Set<String>()
            var results = Set<String>()
            for file in files {
                let type = String(file.prefix { $0 != "-" })
                let input = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(file)"))
                let encoded: Data
                switch type {
                case "Frame":
                    let frame = try Streamswarm_Mesh_V1_Frame(serializedBytes: input)
                    #expect(frame.unknownFields.data.isEmpty, "\(file): fields swift-protobuf does not know")
                    bodies.insert(Self.caseName(frame.body))
                    if case .resultBatch(let batch) = frame.body {
                        for m in batch.measurements { results.insert(Self.caseName(m.result)) }
                    }
                    encoded = try frame.serializedBytes()
                case "Measurement":
                    let measurement = try Streamswarm_Mesh_V1_Measurement(serializedBytes: input)
                    #expect(measurement.unknownFields.data.isEmpty, "\(file): fields swift-protobuf does not know")
                    results.insert(Self.caseName(measurement.result))
                    encoded = try measurement.serializedBytes()
                default:
                    Issue.record("unexpected corpus file \(file)")
                    continue
                }
                #expect(encoded == input, "\(file): swift-protobuf re-encodes protobuf-c's bytes differently")
                let swiftFile = "\(dir)/\(file).swift"
                try encoded.write(to: URL(fileURLWithPath: swiftFile))
                #expect(
                    try run(["repack", type, swiftFile, "\(swiftFile).c"]) == 0,
                    "\(file): protobuf-c refused ours"
                )
                let back = try Data(contentsOf: URL(fileURLWithPath: "\(swiftFile).c"))
                #expect(back == encoded, "\(file): protobuf-c re-encodes swift-protobuf's bytes differently")
            }
            #expect(bodies.count == 11, "every Frame body: \(bodies.sorted())")
            #expect(results.count == 10, "every Measurement result: \(results.sorted())")
        }
    }
}
