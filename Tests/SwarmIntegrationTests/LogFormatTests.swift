import Foundation
import SwarmTestSupport
import Testing

/// `--log-format json`: every log line is one JSON object with the same keys, for log shippers.
@Suite(.timeLimit(.minutes(1))) struct LogFormatTests {
    @Test("json logs parse line by line with ts, level, label, source, message and metadata; bad formats are refused")
    func jsonLines() async throws {
        try await withTemporaryDirectory { dir in
            let (status, output) = try ProductBinary.run(
                ["tests", "list", "--db", "sqlite:\(dir)/fresh.sqlite", "--log-format", "json", "--log-level", "info"],
                in: dir
            )
            #expect(status == 0, "\(output)")
            let lines = output.split(separator: "\n").filter { $0.hasPrefix("{") }
            #expect(lines.count >= 10, "a fresh store logs each migration: \(output)")
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(Set(object.keys).isSuperset(of: ["ts", "level", "label", "source", "message"]), "\(line)")
                #expect((object["ts"] as? String)?.hasSuffix("Z") == true && object["level"] as? String == "info")
            }
            let migration = try #require(lines.first { $0.contains("migration v1-mesh-core applied") })
            #expect(migration.contains("\"metadata\":{\"swarm.store.path\":\"\(dir)/fresh.sqlite\"}"), "\(migration)")
            #expect(migration.contains("\"source\":\"SwarmStoreSQLite\""))

            let (refused, message) = try ProductBinary.run(["tests", "list", "--log-format", "xml"], in: dir)
            #expect(refused != 0 && message.contains("--log-format xml is not text or json"), "\(message)")
        }
    }
}
