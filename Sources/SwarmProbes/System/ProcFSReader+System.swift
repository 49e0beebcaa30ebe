// why: these reads return SwarmCore's SystemSnapshot parts, and tests in this package call them.
package import SwarmCore

extension ProcFSReader {
    /// Reads the cumulative counters that rates are computed from.
    package func readCounters(at instant: ContinuousClock.Instant = .now, processes: Bool = false) -> SystemCounters {
        var counters = SystemCounters(takenAt: instant)
        if processes {
            counters.processes = readProcesses()
            if counters.processes == nil { counters.unreadable.append(path("proc")) }
        }
        if let text = contents("proc/stat") {
            counters.stat = ProcFS.parseStat(text)
        } else {
            counters.unreadable.append(path("proc/stat"))
        }
        if let text = contents("proc/diskstats") {
            counters.disks = ProcFS.parseDiskStats(text).filter { isWholeDisk($0.name) }
        } else {
            counters.unreadable.append(path("proc/diskstats"))
        }
        if let text = contents("proc/net/dev") {
            counters.interfaces = ProcFS.parseNetDev(text)
        } else {
            counters.unreadable.append(path("proc/net/dev"))
        }
        if let text = contents("proc/net/snmp") {
            counters.tcpSegments = ProcFS.parseSNMPTCP(text)
        } else {
            counters.unreadable.append(path("proc/net/snmp"))
        }
        return counters
    }

    /// Whether a /proc/diskstats name is a whole, real disk.
    ///
    /// sysfs marks partitions with a `partition` file; without /sys we cannot tell and keep the entry,
    /// since a partition's figures are real, only redundant.
    func isWholeDisk(_ name: String) -> Bool {
        guard !ProcFS.isVirtualDisk(name) else { return false }
        // sysfs spells the "/" of names like cciss/c0d0 as "!".
        let sysName = name.replacingSlashes()
        return !exists("sys/class/block/\(sysName)/partition")
    }

    /// Current frequency per core: cpufreq where the kernel has it (it tracks scaling), otherwise the
    /// `cpu MHz` of /proc/cpuinfo. Cores with neither are absent.
    package func coreFrequenciesMHz(cores: [Int]) -> [Int: Double] {
        var result: [Int: Double] = [:]
        var cpuInfo: [Int: Double]?
        for core in cores {
            if let text = contents("sys/devices/system/cpu/cpu\(core)/cpufreq/scaling_cur_freq"),
                let mhz = ProcFS.parseKilohertzAsMegahertz(text)
            {
                result[core] = mhz
                continue
            }
            if cpuInfo == nil { cpuInfo = contents("proc/cpuinfo").map(ProcFS.parseCPUInfoFrequencies) ?? [:] }
            result[core] = cpuInfo?[core]
        }
        return result
    }

    /// Size and use of each storage mount (see ``ProcFS/isStorageMount(_:)``), or nil when the mount
    /// table cannot be read.
    ///
    /// A filesystem bind-mounted in several places (containers bind /etc/hosts from the root disk) is
    /// reported once, at its first mount point, so its bytes are not counted twice.
    package func mounts() -> [SystemSnapshot.Mount]? {
        guard let text = contents("proc/self/mounts") ?? contents("proc/mounts") else { return nil }
        var seenDevices: Set<String> = []
        var result: [SystemSnapshot.Mount] = []
        for entry in ProcFS.parseMounts(text) where ProcFS.isStorageMount(entry) {
            // Overlays all share the device name "overlay", so only real devices are de-duplicated.
            if entry.device.hasPrefix("/") {
                guard !seenDevices.contains(entry.device) else { continue }
            }
            guard let usage = fileSystemUsage(mountPoint: entry.mountPoint) else { continue }
            seenDevices.insert(entry.device)
            result.append(
                SystemSnapshot.Mount(
                    mountPoint: entry.mountPoint,
                    device: entry.device,
                    fsType: entry.fsType,
                    totalBytes: usage.totalBytes,
                    usedBytes: usage.usedBytes,
                    usedPercent: usage.usedPercent
                )
            )
        }
        return result
    }

    /// Fills speed, MTU and link state from /sys/class/net for each interface.
    package func addInterfaceDetails(to interfaces: inout [SystemSnapshot.Interface]) {
        for index in interfaces.indices {
            let directory = "sys/class/net/\(interfaces[index].name.replacingSlashes())"
            interfaces[index].speedMbps = contents("\(directory)/speed").flatMap(ProcFS.parseInterfaceSpeed)
            if let text = contents("\(directory)/mtu"), let mtu = Int(ProcFS.trimmed(Substring(text))) {
                interfaces[index].mtu = mtu
            }
            if let text = contents("\(directory)/operstate") {
                interfaces[index].operState = String(ProcFS.trimmed(Substring(text)))
            }
        }
    }

    /// Temperatures, fan speeds and power draw from every hwmon chip, named "<chip> <label>" (or
    /// "<chip> <channel>" when the driver gives no label).
    package func sensors() -> [SystemSnapshot.Sensor] {
        guard let chips = entries("sys/class/hwmon") else { return [] }
        var result: [SystemSnapshot.Sensor] = []
        for chip in chips where chip.hasPrefix("hwmon") {
            let directory = "sys/class/hwmon/\(chip)"
            let chipName = contents("\(directory)/name").map { String(ProcFS.trimmed(Substring($0))) } ?? ""
            let displayName = chipName.isEmpty ? chip : chipName
            for file in entries(directory) ?? [] where file.hasSuffix("_input") {
                guard let text = contents("\(directory)/\(file)"),
                    let reading = ProcFS.parseSensor(fileName: file, contents: text)
                else { continue }
                let labelText = contents("\(directory)/\(reading.channel)_label") ?? ""
                let label = String(ProcFS.trimmed(Substring(labelText)))
                result.append(
                    SystemSnapshot.Sensor(
                        kind: reading.kind.rawValue,
                        name: "\(displayName) \(label.isEmpty ? reading.channel : label)",
                        value: reading.value
                    )
                )
            }
        }
        return result
    }

    /// Wireless links: the signal from /proc/net/wireless, frequency and bitrate from nl80211. A host
    /// without a radio (nothing in /sys/class/ieee80211) is not asked over netlink at all.
    package func wireless() -> [SystemSnapshot.Wireless] {
        let signals = contents("proc/net/wireless").map(ProcFS.parseWireless) ?? []
        let radios = entries("sys/class/ieee80211") ?? []
        let links: Result<[NL80211.Link], NL80211.Unavailable> =
            radios.isEmpty
            ? .failure(NL80211.Unavailable("no Wi-Fi radio (\(path("sys/class/ieee80211")) is empty or missing)"))
            : wirelessLinks()
        return Self.mergeWireless(signals: signals, links: links)
    }

    /// One entry per interface either source knows, with the reason for any figure nl80211 could not give.
    package static func mergeWireless(
        signals: [ProcFS.WirelessSignal],
        links: Result<[NL80211.Link], NL80211.Unavailable>
    ) -> [SystemSnapshot.Wireless] {
        let known = (try? links.get()) ?? []
        var names = signals.map(\.interface)
        for link in known where !names.contains(link.interface) { names.append(link.interface) }
        return names.map { name in
            let link = known.first { $0.interface == name }
            var entry = SystemSnapshot.Wireless(
                interface: name,
                signalDBm: signals.first { $0.interface == name }?.signalDBm ?? link?.signalDBm,
                bitrateMbps: link?.bitrateMbps,
                frequencyMHz: link?.frequencyMHz
            )
            if case .failure(let failure) = links {
                entry.absentReason = "bitrate and frequency come from nl80211: \(failure.reason)"
            } else if let link {
                var reasons: [String] = []
                if link.frequencyMHz == nil {
                    reasons.append("no operating frequency (interface down or not connected)")
                }
                if link.bitrateMbps == nil {
                    reasons.append(
                        link.isStation
                            ? "no bitrate: not associated with an access point"
                            : "no bitrate: it is reported per station, and this interface is not in station mode"
                    )
                }
                entry.absentReason = reasons.joined(separator: "; ")
            } else {
                entry.absentReason = "nl80211 does not list this interface"
            }
            return entry
        }
    }

    /// Builds a snapshot: levels read now, rates from the two counter samples.
    ///
    /// - Returns: the snapshot and the paths that could not be read (their figures are absent).
    package func makeSnapshot(
        previous: SystemCounters,
        current: SystemCounters,
        options: TestSpec.SystemOptions
    ) -> (snapshot: SystemSnapshot, unreadable: [String]) {
        var snapshot = SystemSnapshot()
        var unreadable = current.unreadable

        let coreIndices = current.stat.map { $0.cores.keys.sorted() } ?? []
        snapshot.coreCount = coreIndices.count
        let frequencies = coreFrequenciesMHz(cores: coreIndices)
        if !frequencies.isEmpty {
            snapshot.cpuFrequencyMHz = frequencies.values.reduce(0, +) / Double(frequencies.count)
        }
        SystemRates.apply(from: previous, to: current, frequenciesMHz: frequencies, into: &snapshot)
        if !options.perCore { snapshot.cores = [] }
        if options.perProcessSummary, let before = previous.processes, let now = current.processes {
            let top = ProcessSummary.top(
                previous: before,
                current: now,
                seconds: (current.takenAt - previous.takenAt).seconds
            )
            snapshot.topByCPU = top.byCPU
            snapshot.topByMemory = top.byMemory
        }
        addInterfaceDetails(to: &snapshot.interfaces)

        if let load = contents("proc/loadavg").flatMap(ProcFS.parseLoadAverage) {
            snapshot.load1 = load.load1
            snapshot.load5 = load.load5
            snapshot.load15 = load.load15
        } else {
            unreadable.append(path("proc/loadavg"))
        }

        if let memory = contents("proc/meminfo").flatMap(ProcFS.parseMemInfo) {
            snapshot.memoryTotalBytes = memory.totalBytes
            snapshot.memoryUsedBytes = memory.usedBytes
            snapshot.memoryAvailableBytes = memory.availableBytes
            snapshot.memoryCachedBytes = memory.cachedBytes
            snapshot.memoryBuffersBytes = memory.buffersBytes
            snapshot.memorySharedBytes = memory.sharedBytes
            snapshot.swapTotalBytes = memory.swapTotalBytes
            snapshot.swapUsedBytes = memory.swapUsedBytes
        } else {
            unreadable.append(path("proc/meminfo"))
        }

        if let mounts = mounts() {
            snapshot.mounts = mounts
        } else {
            unreadable.append(path("proc/self/mounts"))
        }

        if let processes = entries("proc") {
            snapshot.processCount = ProcFS.countProcesses(processes)
        } else {
            unreadable.append(path("proc"))
        }

        if let openFiles = contents("proc/sys/fs/file-nr").flatMap(ProcFS.parseFileNr) {
            snapshot.openFiles = openFiles
        } else {
            unreadable.append(path("proc/sys/fs/file-nr"))
        }

        if let sockets = contents("proc/net/sockstat").flatMap(ProcFS.parseSockStat) {
            snapshot.tcpSockets.inUse = sockets.inUse
            snapshot.tcpSockets.orphan = sockets.orphan
            snapshot.tcpSockets.timeWait = sockets.timeWait
            snapshot.tcpSockets.allocated = sockets.allocated
        } else {
            unreadable.append(path("proc/net/sockstat"))
        }

        snapshot.sensors = sensors()
        snapshot.wireless = wireless()
        return (snapshot, unreadable)
    }
}

extension String {
    fileprivate func replacingSlashes() -> String {
        String(map { $0 == "/" ? "!" : $0 })
    }
}
