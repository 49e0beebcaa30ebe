import Foundation
import SwarmCore
import SwarmProbes

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

    /// The host's load for a heartbeat, using the system probe's parsers. CPU % is the busy share
    /// since `previous` (the last heartbeat's sample); nil on the first heartbeat.
    ///
    /// A file that cannot be read leaves its figure at zero: heartbeats carry load as a hint, and
    /// the system probe reports the host in detail.
    static func load(previous: inout ProcFS.CPUTimes?) -> (load1: Double, cpuPercent: Double?, memoryUsedBytes: UInt64)
    {
        // try?: an unreadable file means "no figure" for a heartbeat hint, never an error.
        let loadavg = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)
        let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8)
        let current = stat.flatMap { ProcFS.parseStat($0).total }
        var cpu: Double?
        if let before = previous, let now = current { cpu = SystemRates.cpuPercent(from: before, to: now) }
        previous = current
        return (
            loadavg.flatMap(ProcFS.parseLoadAverage)?.load1 ?? 0, cpu,
            meminfo.flatMap(ProcFS.parseMemInfo)?.usedBytes ?? 0
        )
    }
}
