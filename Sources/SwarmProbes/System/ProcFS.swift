/// Parsers for the text files Linux exposes under /proc and /sys.
///
/// Each parser takes a file's contents, not a path, so it can be tested on captured samples and on
/// hostile text. A line or field that does not parse is skipped rather than guessed: kernels add
/// fields over time, and a figure we cannot read must stay absent instead of becoming a zero.
package enum ProcFS {
    // MARK: - /proc/stat

    /// Cumulative CPU time, in USER_HZ ticks, from one `cpu` line of /proc/stat.
    package struct CPUTimes: Sendable, Hashable {
        package var user: UInt64
        package var nice: UInt64
        package var system: UInt64
        package var idle: UInt64
        package var iowait: UInt64
        package var irq: UInt64
        package var softirq: UInt64
        package var steal: UInt64

        package init(
            user: UInt64 = 0,
            nice: UInt64 = 0,
            system: UInt64 = 0,
            idle: UInt64 = 0,
            iowait: UInt64 = 0,
            irq: UInt64 = 0,
            softirq: UInt64 = 0,
            steal: UInt64 = 0
        ) {
            self.user = user
            self.nice = nice
            self.system = system
            self.idle = idle
            self.iowait = iowait
            self.irq = irq
            self.softirq = softirq
            self.steal = steal
        }

        /// Reads the values after the `cpuN` key. At least user, nice, system and idle are required;
        /// the later columns arrived with newer kernels and count as zero when missing.
        init?(_ values: ArraySlice<Substring>) {
            // guest and guest_nice (columns 9 and 10) are already included in user and nice.
            let numbers = values.prefix(8).map { UInt64($0) }
            guard numbers.count >= 4 else { return nil }
            var parsed: [UInt64] = []
            for number in numbers {
                guard let number else { return nil }
                parsed.append(number)
            }
            parsed += Array(repeating: 0, count: 8 - parsed.count)
            self.init(
                user: parsed[0],
                nice: parsed[1],
                system: parsed[2],
                idle: parsed[3],
                iowait: parsed[4],
                irq: parsed[5],
                softirq: parsed[6],
                steal: parsed[7]
            )
        }

        /// Every tick accounted for. Wrapping arithmetic because the input is text we do not control.
        package var total: UInt64 {
            user &+ nice &+ system &+ idle &+ iowait &+ irq &+ softirq &+ steal
        }

        /// Ticks spent doing work. iowait counts as idle, as psutil and Telegraf's `usage_active`
        /// count it, because the CPU was free to run anything else while it waited.
        package var busy: UInt64 { total &- idle &- iowait }
    }

    /// The counters of /proc/stat that the system probe uses.
    package struct Stat: Sendable, Hashable {
        /// The aggregate `cpu` line.
        package var total: CPUTimes?
        /// `cpuN` lines by N.
        package var cores: [Int: CPUTimes] = [:]
        /// `ctxt`: context switches since boot.
        package var contextSwitches: UInt64?
        /// First value of `intr`: interrupts serviced since boot.
        package var interrupts: UInt64?
        package var processesRunning: Int?

        package init() {}
    }

    package static func parseStat(_ text: String) -> Stat {
        var stat = Stat()
        for line in text.split(separator: "\n") {
            let values = fields(line)
            guard let key = values.first else { continue }
            switch key {
            case "cpu":
                stat.total = CPUTimes(values.dropFirst())
            case "ctxt":
                stat.contextSwitches = values.dropFirst().first.flatMap { UInt64($0) }
            case "intr":
                stat.interrupts = values.dropFirst().first.flatMap { UInt64($0) }
            case "procs_running":
                stat.processesRunning = values.dropFirst().first.flatMap { Int($0) }
            default:
                let suffix = key.dropFirst(3)
                guard key.hasPrefix("cpu"), isDigits(suffix), let index = Int(suffix),
                    let times = CPUTimes(values.dropFirst())
                else { continue }
                stat.cores[index] = times
            }
        }
        return stat
    }

    // MARK: - /proc/loadavg

    package struct LoadAverage: Sendable, Hashable {
        package var load1: Double
        package var load5: Double
        package var load15: Double
        /// Field 4 "running/total": runnable and existing scheduling entities (threads, not processes).
        package var runnable: Int?
        package var scheduled: Int?
    }

    package static func parseLoadAverage(_ text: String) -> LoadAverage? {
        let values = fields(Substring(text))
        guard values.count >= 3, let load1 = Double(values[0]), let load5 = Double(values[1]),
            let load15 = Double(values[2]), load1.isFinite, load5.isFinite, load15.isFinite
        else { return nil }
        var load = LoadAverage(load1: load1, load5: load5, load15: load15)
        if values.count >= 4 {
            let counts = values[3].split(separator: "/")
            if counts.count == 2 {
                load.runnable = Int(counts[0])
                load.scheduled = Int(counts[1])
            }
        }
        return load
    }

    // MARK: - /proc/meminfo

    /// The /proc/meminfo fields the system probe reports, in bytes.
    package struct Memory: Sendable, Hashable {
        package var totalBytes: UInt64
        package var availableBytes: UInt64
        package var usedBytes: UInt64
        package var cachedBytes: UInt64
        package var buffersBytes: UInt64
        package var sharedBytes: UInt64
        package var swapTotalBytes: UInt64
        package var swapUsedBytes: UInt64
    }

    /// Every `Key: value [kB]` line of /proc/meminfo. Values in kB are converted to bytes; unitless
    /// values (the HugePages counts) are kept as they are.
    package static func parseMemInfoFields(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let values = fields(line[line.index(after: colon)...])
            guard let first = values.first, let number = UInt64(first) else { continue }
            if values.count >= 2 && values[1] == "kB" {
                let (bytes, overflow) = number.multipliedReportingOverflow(by: 1024)
                guard !overflow else { continue }
                result[key] = bytes
            } else {
                result[key] = number
            }
        }
        return result
    }

    /// The memory figures, or nil when the text has no `MemTotal`.
    ///
    /// Used is total minus available, as `free` computes it since procps 3.3.10: the kernel's own
    /// estimate of what could be handed out without swapping is the honest "free" figure. Kernels
    /// before 3.14 have no `MemAvailable`; there we fall back to `MemFree`, which is what they report.
    package static func parseMemInfo(_ text: String) -> Memory? {
        let values = parseMemInfoFields(text)
        guard let total = values["MemTotal"] else { return nil }
        let available = values["MemAvailable"] ?? values["MemFree"] ?? 0
        let swapTotal = values["SwapTotal"] ?? 0
        let swapFree = values["SwapFree"] ?? swapTotal
        return Memory(
            totalBytes: total,
            availableBytes: available,
            usedBytes: total > available ? total - available : 0,
            cachedBytes: values["Cached"] ?? 0,
            buffersBytes: values["Buffers"] ?? 0,
            sharedBytes: values["Shmem"] ?? 0,
            swapTotalBytes: swapTotal,
            swapUsedBytes: swapTotal > swapFree ? swapTotal - swapFree : 0
        )
    }

    // MARK: - CPU frequency

    /// `cpu MHz` per `processor` block of /proc/cpuinfo (x86 reports it; most ARM kernels do not).
    package static func parseCPUInfoFrequencies(_ text: String) -> [Int: Double] {
        var result: [Int: Double] = [:]
        var processor: Int?
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = trimmed(line[..<colon])
            let value = trimmed(line[line.index(after: colon)...])
            if key == "processor" {
                processor = Int(value)
            } else if key == "cpu MHz", let processor, let mhz = Double(value), mhz.isFinite, mhz > 0 {
                result[processor] = mhz
            }
        }
        return result
    }

    /// A cpufreq `scaling_cur_freq` file (kHz) as MHz.
    package static func parseKilohertzAsMegahertz(_ text: String) -> Double? {
        guard let khz = UInt64(trimmed(Substring(text))), khz > 0 else { return nil }
        return Double(khz) / 1000
    }

    // MARK: - Mounts

    package struct MountEntry: Sendable, Hashable {
        package var device: String
        package var mountPoint: String
        package var fsType: String
        package init(device: String, mountPoint: String, fsType: String) {
            self.device = device
            self.mountPoint = mountPoint
            self.fsType = fsType
        }
    }

    /// The lines of /proc/self/mounts (fstab format), with the kernel's octal escapes undone.
    package static func parseMounts(_ text: String) -> [MountEntry] {
        text.split(separator: "\n").compactMap { line in
            let values = fields(line)
            guard values.count >= 3 else { return nil }
            return MountEntry(
                device: unescapeOctal(values[0]),
                mountPoint: unescapeOctal(values[1]),
                fsType: String(values[2])
            )
        }
    }

    /// Filesystem types left out of the disk figures: kernel interfaces and memory-backed ones hold no
    /// user data; squashfs and iso9660 are read-only images that always look full. Network filesystems
    /// are here too because `statvfs` on an unreachable server blocks, and one dead NFS server must not
    /// stall the whole probe.
    static let excludedFileSystemTypes: Set<String> = [
        "proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "pstore",
        "debugfs", "tracefs", "configfs", "fusectl", "mqueue", "hugetlbfs", "bpf", "autofs", "binfmt_misc",
        "rpc_pipefs", "nsfs", "ramfs", "efivarfs", "selinuxfs", "squashfs", "iso9660", "nfs", "nfs4", "nfsd",
        "cifs", "smb3", "smbfs", "9p", "ceph", "fuse.sshfs", "fuse.gvfsd-fuse", "fuse.portal", "fuse.lxcfs",
    ]

    /// Whether a mount is storage worth reporting: a block device (`/dev/…`) or an overlay or ZFS
    /// dataset, and not one of ``excludedFileSystemTypes``.
    package static func isStorageMount(_ entry: MountEntry) -> Bool {
        if excludedFileSystemTypes.contains(entry.fsType) || entry.fsType.hasPrefix("cgroup") {
            return false
        }
        if entry.fsType == "overlay" || entry.fsType == "zfs" { return true }
        // Loop devices back snap and image mounts: read-only and always "full", so they are noise.
        return entry.device.hasPrefix("/dev/") && !entry.device.hasPrefix("/dev/loop")
    }

    // MARK: - /proc/diskstats

    package struct DiskCounters: Sendable, Hashable {
        package var name: String
        package var readsCompleted: UInt64
        package var sectorsRead: UInt64
        package var writesCompleted: UInt64
        package var sectorsWritten: UInt64
        /// Milliseconds the device had I/O in flight (field 10, `io_ticks`).
        package var ioTicksMillis: UInt64
        package init(
            name: String,
            readsCompleted: UInt64,
            sectorsRead: UInt64,
            writesCompleted: UInt64,
            sectorsWritten: UInt64,
            ioTicksMillis: UInt64
        ) {
            self.name = name
            self.readsCompleted = readsCompleted
            self.sectorsRead = sectorsRead
            self.writesCompleted = writesCompleted
            self.sectorsWritten = sectorsWritten
            self.ioTicksMillis = ioTicksMillis
        }
    }

    /// The lines of /proc/diskstats (Documentation/admin-guide/iostats.rst): major, minor, name, then
    /// at least 11 counters; the discard and flush columns of newer kernels are ignored.
    package static func parseDiskStats(_ text: String) -> [DiskCounters] {
        text.split(separator: "\n").compactMap { line in
            let values = fields(line)
            guard values.count >= 14 else { return nil }
            let numbers = values[3..<14].map { UInt64($0) }
            guard let readsCompleted = numbers[0], let sectorsRead = numbers[2],
                let writesCompleted = numbers[4], let sectorsWritten = numbers[6], let ioTicks = numbers[9]
            else { return nil }
            return DiskCounters(
                name: String(values[2]),
                readsCompleted: readsCompleted,
                sectorsRead: sectorsRead,
                writesCompleted: writesCompleted,
                sectorsWritten: sectorsWritten,
                ioTicksMillis: ioTicks
            )
        }
    }

    /// Loop devices and RAM disks (including zram swap) are memory or files, not disks.
    package static func isVirtualDisk(_ name: String) -> Bool {
        name.hasPrefix("loop") || name.hasPrefix("ram") || name.hasPrefix("zram")
    }

    // MARK: - Helpers

    static func fields(_ line: Substring) -> [Substring] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
    }

    static func trimmed(_ text: Substring) -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = text.firstIndex(where: { !isSpace($0) }),
            let last = text.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return text[first...last]
    }

    static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// Undoes the `\ooo` escapes the kernel writes for space, tab, newline and backslash in mount fields.
    static func unescapeOctal(_ text: Substring) -> String {
        guard text.contains("\\") else { return String(text) }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == 0x5C, index + 3 < utf8.count, let value = octal(utf8[(index + 1)...(index + 3)]) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value: UInt16 = 0
        for digit in digits {
            guard digit >= 0x30 && digit <= 0x37 else { return nil }
            value = value * 8 + UInt16(digit - 0x30)
        }
        return value <= 0xFF ? UInt8(value) : nil
    }
}
