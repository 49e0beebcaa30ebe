import Foundation

/// Refuses secret files that others can read: a private key readable by other users is as good
/// as published. Group read is allowed only for a root-owned file (a deliberate `root:streamswarm
/// 0640` setup), as ssh does.
enum KeyFilePermissions {
    static func check(_ path: String, what: String) throws {
        // FileManager rather than stat(2): the same answer, without the C struct's module quirks.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return }
        let mode = (attributes[.posixPermissions] as? Int ?? 0) & 0o777
        let owner = attributes[.ownerAccountID] as? Int ?? -1
        let others = mode & 0o007 != 0
        let group = mode & 0o070 != 0 && owner != 0
        guard others || group else { return }
        throw PKIError(
            code: .unreadableFile,
            message: "\(what) \(path) is readable by \(others ? "every user" : "its group") "
                + "(mode \(String(mode, radix: 8))): run 'chmod 600 \(path)' and start again"
        )
    }
}
