import Foundation

/// CPU time (user + system) of this process or another, in seconds.
public enum ProcessCPU {
    /// This process, from getrusage.
    public static func seconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    }

    /// Another process, from /proc/PID/stat fields 14 and 15; 0 when it cannot be read.
    public static func seconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Resident memory of a process.
public enum ProcessMemory {
    /// VmRSS from /proc/PID/status, in bytes; 0 when it cannot be read.
    public static func residentBytes(pid: Int32) -> Int { statusBytes("VmRSS:", pid: pid) }

    /// VmHWM (the peak of VmRSS since the process started or ``resetPeak()``), in bytes.
    public static func peakBytes(pid: Int32) -> Int { statusBytes("VmHWM:", pid: pid) }

    /// Starts this process's VmHWM afresh (/proc/self/clear_refs), so a phase's own peak can be read.
    public static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    private static func statusBytes(_ field: String, pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) })
        else { return 0 }
        let kib = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
        return kib * 1024
    }
}
