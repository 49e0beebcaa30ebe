import Foundation
import SwarmCore

/// Reads the facts an agent reports in Hello and the load it reports in heartbeats (/proc, uname).
enum HostFactsReader {
    static func read() -> HostFacts {
        var name = utsname()
        uname(&name)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        var hostBytes = [CChar](repeating: 0, count: 256)
        gethostname(&hostBytes, hostBytes.count)
        let hostname = String(decoding: hostBytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let release = osRelease()
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        var bootTime: Timestamp?
        if let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
            let seconds = Int64(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        {
            bootTime = Timestamp(unixNanos: seconds * 1_000_000_000)
        }
        return HostFacts(
            hostname: hostname,
            osName: release["NAME"] ?? text(name.sysname),
            osVersion: release["VERSION"] ?? release["VERSION_ID"] ?? "",
            kernel: text(name.release),
            arch: text(name.machine),
            cpuCount: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            memoryBytes: UInt64(max(0, pages)) * UInt64(max(0, pageSize)),
            bootTime: bootTime
        )
    }

    static func osRelease() -> [String: String] {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            values[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return values
    }

    /// Load average and memory in use, for heartbeats.
    static func load() -> (load1: Double, memoryUsedBytes: UInt64) {
        var load1 = 0.0
        if let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
            let first = text.split(separator: " ").first, let value = Double(first)
        {
            load1 = value
        }
        var total: UInt64 = 0
        var available: UInt64 = 0
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2, let kib = UInt64(fields[1]) else { continue }
                if fields[0] == "MemTotal:" { total = kib * 1024 }
                if fields[0] == "MemAvailable:" { available = kib * 1024 }
            }
        }
        return (load1, total > available ? total - available : 0)
    }
}
