import Foundation
import Logging
import SwarmCore
import Synchronization

/// One JSON object a line on standard error, for log shippers (journald's JSON, Loki, Elastic):
/// `{"ts":"…","level":"info","label":"streamswarm.server","source":"SwarmServer","message":"…",
/// "metadata":{"swarm.agent":"edge-1"}}`. Keys never vary with the message, so lines parse alike.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    /// Lines from several threads must not interleave.
    private static let output = Mutex(())

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var object: [String: Any] = [
            "ts": Timestamp.now().iso8601, "level": event.level.rawValue, "label": label, "source": event.source,
            "message": event.message.description,
        ]
        if !merged.isEmpty { object["metadata"] = merged.mapValues(\.description) }
        if let error = event.error { object["error"] = "\(error)" }
        guard
            var line = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.sortedKeys, .withoutEscapingSlashes]
            )
        else { return }
        line.append(0x0A)
        Self.output.withLock { _ in FileHandle.standardError.write(line) }
    }
}
