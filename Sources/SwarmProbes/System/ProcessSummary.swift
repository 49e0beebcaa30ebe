import Foundation
// why: the summary builds SwarmCore's SystemSnapshot.Process, and tests in this package call it.
package import SwarmCore

extension ProcFS {
    /// The figures of one /proc/PID/stat line that a per-process summary needs.
    package struct ProcessSample: Sendable, Hashable {
        package var pid: Int
        package var name: String
        /// utime + stime, in USER_HZ ticks.
        package var cpuTicks: UInt64
        package var residentPages: UInt64

        package init(pid: Int, name: String, cpuTicks: UInt64, residentPages: UInt64) {
            self.pid = pid
            self.name = name
            self.cpuTicks = cpuTicks
            self.residentPages = residentPages
        }
    }

    /// Parses /proc/PID/stat: `pid (comm) state ppid … utime stime … rss …`.
    ///
    /// The name may itself hold spaces and parentheses, so the fields are counted from the last ")".
    package static func parseProcessStat(_ text: String) -> ProcessSample? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
            let pid = Int(trimmed(text[..<open]))
        else { return nil }
        let name = String(text[text.index(after: open)..<close])
        // After ")": state is field 3 of proc(5), so field N is at index N - 3.
        let rest = fields(text[text.index(after: close)...])
        guard rest.count > 21, let utime = UInt64(rest[11]), let stime = UInt64(rest[12]),
            let rss = Int64(rest[21])
        else { return nil }
        return ProcessSample(pid: pid, name: name, cpuTicks: utime &+ stime, residentPages: UInt64(max(0, rss)))
    }
}

extension ProcFSReader {
    /// Every process's CPU ticks and resident pages, keyed by pid. A process that exits between the
    /// listing and its read is simply missing.
    package func readProcesses() -> [Int: ProcFS.ProcessSample]? {
        guard let names = entries("proc") else { return nil }
        var result: [Int: ProcFS.ProcessSample] = [:]
        for name in names where !name.isEmpty && ProcFS.isDigits(Substring(name)) {
            if let text = contents("proc/\(name)/stat"), let sample = ProcFS.parseProcessStat(text) {
                result[sample.pid] = sample
            }
        }
        return result
    }
}

/// The processes using the most CPU and the most memory between two samples.
package enum ProcessSummary {
    /// How many processes each list holds.
    package static let limit = 5

    /// - Parameters:
    ///   - ticksPerSecond: USER_HZ (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
    ///   - pageSize: bytes per page, for the resident set.
    package static func top(
        previous: [Int: ProcFS.ProcessSample],
        current: [Int: ProcFS.ProcessSample],
        seconds: Double,
        ticksPerSecond: Double = Double(sysconf(Int32(_SC_CLK_TCK))),
        pageSize: UInt64 = UInt64(sysconf(Int32(_SC_PAGESIZE)))
    ) -> (byCPU: [SystemSnapshot.Process], byMemory: [SystemSnapshot.Process]) {
        let processes = current.values.map { now in
            SystemSnapshot.Process(
                pid: now.pid,
                name: now.name,
                cpuPercent: cpuPercent(previous: previous[now.pid], current: now, seconds: seconds, hz: ticksPerSecond),
                residentBytes: now.residentPages &* pageSize
            )
        }
        // Ties broken by pid so the lists are stable from run to run.
        let byCPU =
            processes
            .filter { ($0.cpuPercent ?? 0) > 0 }
            .sorted { ($0.cpuPercent ?? 0, -$0.pid) > ($1.cpuPercent ?? 0, -$1.pid) }
        let byMemory = processes.filter { $0.residentBytes > 0 }
            .sorted { ($0.residentBytes, -$0.pid) > ($1.residentBytes, -$1.pid) }
        return (Array(byCPU.prefix(limit)), Array(byMemory.prefix(limit)))
    }

    /// A process new since the previous sample spent all its ticks in the interval. One whose ticks
    /// went back is a reused pid: no figure rather than a wrong one.
    static func cpuPercent(
        previous: ProcFS.ProcessSample?,
        current: ProcFS.ProcessSample,
        seconds: Double,
        hz: Double
    ) -> Double? {
        guard seconds > 0, hz > 0 else { return nil }
        let before = previous?.cpuTicks ?? 0
        guard current.cpuTicks >= before else { return nil }
        return Double(current.cpuTicks - before) / hz / seconds * 100
    }
}
