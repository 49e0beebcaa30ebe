import Foundation
import Synchronization

/// The set of revoked certificate serials, reloadable while the server runs.
///
/// The file format is the one `scripts/provision-certs.sh revoke` writes: one serial per line in hex
/// (colons and leading zeros ignored), `#` starts a comment.
public final class RevocationList: Sendable {
    private struct State {
        var serials: Set<String> = []
        var modified: Date?
    }
    private let state = Mutex(State())
    /// The file watched; nil for a fixed in-memory list.
    public let path: String?

    public init(path: String?) {
        self.path = path
    }

    public init(serials: Set<String>) {
        self.path = nil
        state.withLock { $0.serials = Set(serials.map(Self.normalise)) }
    }

    public func contains(serial: String) -> Bool {
        state.withLock { $0.serials.contains(Self.normalise(serial)) }
    }

    public var count: Int { state.withLock { $0.serials.count } }

    /// Re-reads the file when its modification time changed.
    ///
    /// - Returns: The serials added since the last load (so live sessions using them can be closed).
    /// - Throws: ``PKIError`` `.unreadableFile` when the file exists but cannot be read; the list in
    ///   force is kept.
    @discardableResult
    public func reloadIfChanged() throws -> Set<String> {
        guard let path else { return [] }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let modified = attributes?[.modificationDate] as? Date
        if modified == nil {
            // A missing file means nothing is revoked yet (fresh CA).
            return state.withLock { state in
                state.modified = nil
                return []
            }
        }
        if state.withLock({ $0.modified == modified }) { return [] }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw PKIError(
                code: .unreadableFile,
                message: "cannot read revocation list \(path); keeping the \(count) serials already loaded",
                cause: error
            )
        }
        let serials = Self.parse(text)
        return state.withLock { state in
            let added = serials.subtracting(state.serials)
            state.serials = serials
            state.modified = modified
            return added
        }
    }

    static func parse(_ text: String) -> Set<String> {
        var serials = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = content.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { serials.insert(normalise(trimmed)) }
        }
        return serials
    }

    static func normalise(_ serial: String) -> String {
        var text = serial.lowercased().replacingOccurrences(of: ":", with: "")
        if text.hasPrefix("0x") { text.removeFirst(2) }
        let trimmed = text.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }
}
