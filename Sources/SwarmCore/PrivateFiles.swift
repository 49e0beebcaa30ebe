import Foundation

/// Data directories and database files readable by their owner only: the database holds the
/// responder key and session data, the spool holds measurements not yet delivered.
public enum PrivateFiles {
    /// Creates `directory` (and parents) with mode 0700 if it does not exist.
    public static func prepareDirectory(_ directory: String) throws {
        guard !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) else { return }
        try FileManager.default.createDirectory(
            atPath: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
    }

    /// Creates the SQLite file at `path` with mode 0600 before SQLite does (SQLite gives its
    /// -wal and -shm files the database's mode), and narrows an existing one that others can read.
    ///
    /// - Returns: A note for the log when an existing file was narrowed.
    @discardableResult
    public static func prepareDatabaseFile(_ path: String) throws -> String? {
        try prepareDirectory((path as NSString).deletingLastPathComponent)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        var narrowed: [String] = []
        for file in [path, path + "-wal", path + "-shm"] {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0
            else { continue }
            if (try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)) != nil {
                narrowed.append(file)
            }
        }
        return narrowed.isEmpty
            ? nil : "made \(narrowed.joined(separator: ", ")) readable by its owner only (was group/world readable)"
    }
}
