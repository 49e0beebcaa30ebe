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

    /// Reads the file for the first time. A missing file is an error: a mistyped `--revoked` path
    /// must not mean "nothing is revoked" (`provision-certs.sh ca` creates the file empty).
    ///
    /// - Throws: ``PKIError`` `.unreadableFile` when the file is missing or cannot be read.
    public func load() throws {
        guard let path else { return }
        guard FileManager.default.fileExists(atPath: path) else {
            throw PKIError(
                code: .unreadableFile,
                message: "revocation list \(path) does not exist; create it (scripts/provision-certs.sh ca "
                    + "makes an empty one, or: touch \(path)) or pass --revoked '' to run without revocation"
            )
        }
        try reloadIfChanged()
    }

    /// Re-reads the file when its modification time changed.
    ///
    /// - Returns: The serials added since the last load (so live sessions using them can be closed).
    /// - Throws: ``PKIError`` `.unreadableFile` when the file has gone or cannot be read; the list in
    ///   force is kept either way, so deleting the file never un-revokes anyone.
    @discardableResult
    public func reloadIfChanged() throws -> Set<String> {
        guard let path else { return [] }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let modified = attributes?[.modificationDate] as? Date else {
            throw PKIError(
                code: .unreadableFile,
                message: "revocation list \(path) is missing; keeping the \(count) serials already loaded "
                    + "(restore the file to change the list)"
            )
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
