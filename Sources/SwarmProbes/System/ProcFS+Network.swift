/// Parsers for the kernel's file, socket, network, sensor and process tables.
extension ProcFS {
    // MARK: - /proc/sys/fs/file-nr

    /// The first field of file-nr: file handles allocated by the kernel.
    package static func parseFileNr(_ text: String) -> UInt64? {
        fields(Substring(text)).first.flatMap { UInt64($0) }
    }

    // MARK: - /proc/net/sockstat

    package struct TCPSocketCounts: Sendable, Hashable {
        package var inUse: Int = 0
        package var orphan: Int = 0
        package var timeWait: Int = 0
        package var allocated: Int = 0
        package init() {}
    }

    /// The `TCP:` line of /proc/net/sockstat, a list of `name value` pairs.
    package static func parseSockStat(_ text: String) -> TCPSocketCounts? {
        for line in text.split(separator: "\n") {
            let values = fields(line)
            guard values.first == "TCP:" else { continue }
            var counts = TCPSocketCounts()
            var index = 1
            while index + 1 < values.count {
                let value = Int(values[index + 1]) ?? 0
                switch values[index] {
                case "inuse": counts.inUse = value
                case "orphan": counts.orphan = value
                case "tw": counts.timeWait = value
                case "alloc": counts.allocated = value
                default: break
                }
                index += 2
            }
            return counts
        }
        return nil
    }

    // MARK: - /proc/net/snmp

    package struct TCPSegmentCounters: Sendable, Hashable {
        package var outSegments: UInt64
        package var retransmittedSegments: UInt64
        package init(outSegments: UInt64, retransmittedSegments: UInt64) {
            self.outSegments = outSegments
            self.retransmittedSegments = retransmittedSegments
        }
    }

    /// `OutSegs` and `RetransSegs` from the pair of `Tcp:` lines (names, then values) in /proc/net/snmp.
    package static func parseSNMPTCP(_ text: String) -> TCPSegmentCounters? {
        let lines = text.split(separator: "\n").map(fields).filter { $0.first == "Tcp:" }
        guard lines.count >= 2, lines[0].count == lines[1].count else { return nil }
        var values: [Substring: Substring] = [:]
        for (name, value) in zip(lines[0], lines[1]).dropFirst() { values[name] = value }
        guard let out = values["OutSegs"].flatMap({ UInt64($0) }),
            let retransmitted = values["RetransSegs"].flatMap({ UInt64($0) })
        else { return nil }
        return TCPSegmentCounters(outSegments: out, retransmittedSegments: retransmitted)
    }

    // MARK: - /proc/net/dev

    package struct InterfaceCounters: Sendable, Hashable {
        package var name: String
        package var rxBytes: UInt64
        package var rxPackets: UInt64
        package var rxErrors: UInt64
        package var rxDrops: UInt64
        package var txBytes: UInt64
        package var txPackets: UInt64
        package var txErrors: UInt64
        package var txDrops: UInt64
        package init(
            name: String,
            rxBytes: UInt64 = 0,
            rxPackets: UInt64 = 0,
            rxErrors: UInt64 = 0,
            rxDrops: UInt64 = 0,
            txBytes: UInt64 = 0,
            txPackets: UInt64 = 0,
            txErrors: UInt64 = 0,
            txDrops: UInt64 = 0
        ) {
            self.name = name
            self.rxBytes = rxBytes
            self.rxPackets = rxPackets
            self.rxErrors = rxErrors
            self.rxDrops = rxDrops
            self.txBytes = txBytes
            self.txPackets = txPackets
            self.txErrors = txErrors
            self.txDrops = txDrops
        }
    }

    /// The per-interface lines of /proc/net/dev: `name:` then 8 receive and 8 transmit counters.
    package static func parseNetDev(_ text: String) -> [InterfaceCounters] {
        text.split(separator: "\n").compactMap { line in
            // The two header lines are the ones with column separators.
            guard !line.contains("|"), let colon = line.firstIndex(of: ":") else { return nil }
            let name = trimmed(line[..<colon])
            let numbers = fields(line[line.index(after: colon)...]).map { UInt64($0) }
            guard !name.isEmpty, numbers.count >= 16 else { return nil }
            var counters: [UInt64] = []
            for number in numbers {
                guard let number else { return nil }
                counters.append(number)
            }
            return InterfaceCounters(
                name: String(name),
                rxBytes: counters[0],
                rxPackets: counters[1],
                rxErrors: counters[2],
                rxDrops: counters[3],
                txBytes: counters[8],
                txPackets: counters[9],
                txErrors: counters[10],
                txDrops: counters[11]
            )
        }
    }

    /// `/sys/class/net/<if>/speed` in Mbit/s; nil for the -1 ("unknown") that virtual links report.
    package static func parseInterfaceSpeed(_ text: String) -> Int? {
        guard let speed = Int(trimmed(Substring(text))), speed > 0 else { return nil }
        return speed
    }

    // MARK: - /proc/net/wireless

    package struct WirelessSignal: Sendable, Hashable {
        package var interface: String
        package var signalDBm: Double?
        package init(interface: String, signalDBm: Double?) {
            self.interface = interface
            self.signalDBm = signalDBm
        }
    }

    /// The interfaces of /proc/net/wireless with their signal level.
    ///
    /// cfg80211 drivers print the level in dBm (negative, with a trailing "."). A non-negative level is
    /// a driver's relative scale, not dBm, so it is left absent rather than converted.
    package static func parseWireless(_ text: String) -> [WirelessSignal] {
        text.split(separator: "\n").compactMap { line in
            guard !line.contains("|"), let colon = line.firstIndex(of: ":") else { return nil }
            let name = trimmed(line[..<colon])
            guard !name.isEmpty else { return nil }
            let values = fields(line[line.index(after: colon)...])
            // Columns: status, link quality, signal level, noise level, ...
            var signal: Double?
            if values.count >= 3 {
                var level = values[2]
                if level.hasSuffix(".") { level = level.dropLast() }
                if let dBm = Double(level), dBm.isFinite, dBm < 0 { signal = dBm }
            }
            return WirelessSignal(interface: String(name), signalDBm: signal)
        }
    }

    // MARK: - hwmon

    package enum SensorKind: String, Sendable, Hashable {
        case temperature = "temperature_c"
        case fan = "fan_rpm"
        case power = "power_w"
    }

    package struct SensorReading: Sendable, Hashable {
        package var kind: SensorKind
        /// The channel the file belongs to, e.g. `temp1`: also the prefix of its `_label` file.
        package var channel: String
        package var value: Double
    }

    /// One hwmon `<type><n>_input` file in its display unit (sysfs-interface.rst): temperatures come in
    /// millidegrees Celsius, fans in RPM, power in microwatts. Nil for any other file name.
    package static func parseSensor(fileName: String, contents: String) -> SensorReading? {
        guard fileName.hasSuffix("_input") else { return nil }
        let channel = String(fileName.dropLast("_input".count))
        let kinds: [(prefix: String, kind: SensorKind, scale: Double)] = [
            ("temp", .temperature, 1000), ("fan", .fan, 1), ("power", .power, 1_000_000),
        ]
        guard let match = kinds.first(where: { channel.hasPrefix($0.prefix) }),
            isDigits(channel.dropFirst(match.prefix.count)), channel.count > match.prefix.count,
            let raw = Int64(trimmed(Substring(contents)))
        else { return nil }
        return SensorReading(kind: match.kind, channel: channel, value: Double(raw) / match.scale)
    }

    // MARK: - Processes

    /// The number of numeric entries in a /proc listing: one per process (threads are not listed).
    package static func countProcesses(_ entries: [String]) -> Int {
        entries.count { !$0.isEmpty && isDigits(Substring($0)) }
    }
}
