import Foundation

/// Reads /proc and /sys below a root directory.
///
/// The root is "/" in production; tests point it at a temporary directory holding fake files, so the
/// whole probe can run against known contents. Every read returns nil on failure: a file that is
/// missing on this kernel or unreadable in this container is an absent figure, not an error.
package struct ProcFSReader: Sendable {
    /// Largest file read. procfs files are a few KiB; the cap keeps a runaway mount table bounded.
    static let maxFileBytes = 4 << 20

    package var root: String
    /// How Wi-Fi links are asked for: nl80211 on the real root; tests with a fake tree pass their own.
    package var wirelessLinks: @Sendable () -> Result<[NL80211.Link], NL80211.Unavailable>

    package init(
        root: String = "/",
        wirelessLinks: (@Sendable () -> Result<[NL80211.Link], NL80211.Unavailable>)? = nil
    ) {
        self.root = root.hasSuffix("/") ? root : root + "/"
        let isRealRoot = self.root == "/"
        self.wirelessLinks =
            wirelessLinks
            ?? {
                isRealRoot ? NL80211.query() : .failure(NL80211.Unavailable("nl80211 is not asked for a test tree"))
            }
    }

    /// `relative` below the root; leading slashes are ignored so "/proc/stat" and "proc/stat" agree.
    package func path(_ relative: String) -> String {
        root + relative.drop { $0 == "/" }
    }

    /// The whole file as text, or nil when it cannot be opened or read.
    ///
    /// A plain read loop rather than Foundation's file APIs: procfs reports a size of zero for files
    /// that are generated on read, so the only reliable length is reading to EOF.
    package func contents(_ relative: String) -> String? {
        let fd = open(path(relative), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > Self.maxFileBytes { return nil }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The names in a directory, sorted so output order is stable, or nil when it cannot be listed.
    package func entries(_ relative: String) -> [String]? {
        // try?: an unlistable directory is an absent figure; the caller decides what that means.
        (try? FileManager.default.contentsOfDirectory(atPath: path(relative)))?.sorted()
    }

    package func exists(_ relative: String) -> Bool {
        access(path(relative), F_OK) == 0
    }

    /// Size figures of the filesystem mounted at `mountPoint`, as `df` computes them.
    package struct FileSystemUsage: Sendable, Hashable {
        package var totalBytes: UInt64
        package var usedBytes: UInt64
        /// Used as a share of what non-root users can have (used + available), like `df`'s Use%:
        /// blocks reserved for root are neither.
        package var usedPercent: Double
    }

    package func fileSystemUsage(mountPoint: String) -> FileSystemUsage? {
        var info = statvfs()
        guard statvfs(path(mountPoint), &info) == 0 else { return nil }
        let blockSize = UInt64(info.f_frsize)
        let blocks = UInt64(info.f_blocks)
        let free = UInt64(info.f_bfree)
        let available = UInt64(info.f_bavail)
        let (total, overflow) = blocks.multipliedReportingOverflow(by: blockSize)
        guard !overflow, total > 0, blocks >= free else { return nil }
        let used = (blocks - free) &* blockSize
        let usable = used &+ available &* blockSize
        let percent = usable > 0 ? Double(used) / Double(usable) * 100 : 0
        return FileSystemUsage(totalBytes: total, usedBytes: used, usedPercent: min(100, percent))
    }
}
