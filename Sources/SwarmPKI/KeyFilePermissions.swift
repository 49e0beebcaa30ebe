import Foundation
import Glibc

/// Refuses secret files that others can read: a private key readable by other users is as good
/// as published. Group read is allowed only for a root-owned file (a deliberate `root:streamswarm
/// 0640` setup), as ssh does.
enum KeyFilePermissions {
    static func check(_ path: String, what: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }  // reading it reports the missing file
        let mode = info.st_mode & 0o777
        let others = mode & 0o007 != 0
        let group = mode & 0o070 != 0 && info.st_uid != 0
        guard others || group else { return }
        throw PKIError(
            code: .unreadableFile,
            message: "\(what) \(path) is readable by \(others ? "every user" : "its group") "
                + "(mode \(String(mode, radix: 8))): run 'chmod 600 \(path)' and start again"
        )
    }
}
