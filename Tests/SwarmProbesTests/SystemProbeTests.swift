import Foundation
import SwarmCore
import SwarmProbes
import Testing

@Suite struct SystemProbeTests {
    // MARK: - Samples (formats captured from Linux 6.x hosts)

    static let statSample = """
        cpu  85386 0 11338 77750 639 0 93 421 0 0
        cpu0 39896 0 5190 42466 54 0 8 208 0 0
        cpu1 45489 0 6148 35284 585 0 84 213 0 0
        intr 415884 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 16 0 0 0 0 175 84 0 26 1 51275
        ctxt 526935
        btime 1795368453
        processes 13108
        procs_running 3
        procs_blocked 0
        softirq 226503 0 62003 3 1432 9837 0 47 100406 0 52775

        """

    static let memInfoSample = """
        MemTotal:       24684092 kB
        MemFree:        23136560 kB
        MemAvailable:   24164320 kB
        Buffers:           21756 kB
        Cached:          1147564 kB
        SwapCached:            0 kB
        Active:           412560 kB
        Inactive:         836972 kB
        SwapTotal:       2097148 kB
        SwapFree:        1572860 kB
        Dirty:             30336 kB
        Shmem:              8856 kB
        SReclaimable:     156152 kB
        VmallocTotal:   34359738367 kB
        HugePages_Total:       0
        HugePages_Free:        0
        Hugepagesize:       2048 kB
        DirectMap1G:    25165824 kB

        """

    static let diskStatsSample = """
           7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
           1       0 ram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
         259       0 nvme0n1 143690 40409 11238650 41021 317426 281519 19541402 290433 0 293260 347218 0 0 0 0 28519 15763
         259       1 nvme0n1p1 296 1055 13702 86 2 0 2 1 0 136 88 0 0 0 0 0 0
         254       0 vda 49482 8780 6589906 56575 18921 50091 3565384 14993 0 10956 72289 3555 0 386720 577 2421 143
         253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
           8       0 sda 4018 1227 283062 2236 1013 1618 32906 1372 0 2908 3608

        """

    static let netDevSample = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo:   16233      48    0    0    0     0          0         0    16233      48    0    0    0     0       0          0
          eth0: 11285498     281    2    5    0     0          0         0    18717     231    1    3    0     0       0          0
        wlp2s0:4180323021 3127341    0 1187    0     0          0         0 297836810 1265734    0    0    0     0       0          0

        """

    static let snmpSample = """
        Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits
        Ip: 2 64 327 0 0 0 0 0 327 269 0 0 0 0 0 0 0 0 0 269
        Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
        Tcp: 1 200 120000 -1 12 3 0 0 0 305 248 7 0 0 0
        Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
        Udp: 21 0 0 22 0 0 0 0 0

        """

    static let sockStatSample = """
        sockets: used 10
        TCP: inuse 41 orphan 2 tw 17 alloc 58 mem 37
        UDP: inuse 0 mem 0
        UDPLITE: inuse 0
        RAW: inuse 0
        FRAG: inuse 0 memory 0

        """

    static let wirelessSample = """
        Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
         face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
        wlp2s0: 0000   54.  -56.  -256        0      0      0      0    118        0
         wlan1: 0000   70.   45.  -256        0      0      0      0      0        0

        """

    static let mountsSample = """
        proc /proc proc rw,relatime 0 0
        sysfs /sys sysfs rw,relatime 0 0
        devtmpfs /dev devtmpfs rw,relatime,size=12334492k,nr_inodes=3083623,mode=755 0 0
        tmpfs /dev/shm tmpfs rw,relatime,size=24684092k 0 0
        /dev/vda / ext4 rw,relatime,discard 0 0
        /dev/nvme0n1p1 /mnt/My\\040Disk vfat rw,relatime 0 0
        overlay /var/lib/docker/overlay2/abc/merged overlay rw,relatime,lowerdir=/a,upperdir=/b,workdir=/c 0 0
        /dev/loop3 /snap/core22/1380 squashfs ro,nodev,relatime 0 0
        cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
        server:/export /mnt/nfs nfs4 rw,relatime 0 0

        """

    /// A /proc/stat with the given `cpu` rows (first is the aggregate) and counters.
    static func stat(_ rows: [[UInt64]], contextSwitches: UInt64, interrupts: UInt64) -> String {
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            let key = index == 0 ? "cpu " : "cpu\(index - 1)"
            lines.append(key + " " + row.map(String.init).joined(separator: " ") + " 0 0")
        }
        lines.append("intr \(interrupts) 0 0 0")
        lines.append("ctxt \(contextSwitches)")
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - /proc/stat

    @Test("parses total and per-core CPU times, context switches and interrupts from /proc/stat")
    func parsesStat() throws {
        let stat = ProcFS.parseStat(Self.statSample)
        let total = try #require(stat.total)
        #expect(total == ProcFS.CPUTimes(user: 85386, system: 11338, idle: 77750, iowait: 639, softirq: 93, steal: 421))
        #expect(total.total == 85386 + 11338 + 77750 + 639 + 93 + 421)
        #expect(total.busy == 85386 + 11338 + 93 + 421)
        #expect(stat.cores.keys.sorted() == [0, 1])
        #expect(stat.cores[1]?.user == 45489)
        #expect(stat.contextSwitches == 526935)
        #expect(stat.interrupts == 415884)
        #expect(stat.processesRunning == 3)
    }

    @Test("old kernels' shorter cpu lines parse with the missing columns as zero")
    func parsesShortCPULines() throws {
        let stat = ProcFS.parseStat("cpu  10 20 30 40\ncpu0 10 20 30 40\n")
        #expect(try #require(stat.total) == ProcFS.CPUTimes(user: 10, nice: 20, system: 30, idle: 40))
        #expect(stat.cores.count == 1)
    }

    @Test("garbage in /proc/stat is skipped, never guessed")
    func statIgnoresGarbage() {
        let stat = ProcFS.parseStat(
            "cpu 1 2\ncpufoo 1 2 3 4\ncpu-1 1 2 3 4\ncpu0 1 x 3 4\nctxt\nintr -5\n\u{0}\u{1}\n"
        )
        #expect(stat.total == nil)
        #expect(stat.cores.isEmpty)
        #expect(stat.contextSwitches == nil)
        #expect(stat.interrupts == nil)
        #expect(ProcFS.parseStat("").total == nil)
    }

    @Test("CPU percent is busy ticks over all ticks between two samples, total and per core")
    func cpuPercentFromDeltas() throws {
        // Given two samples two seconds apart: core 0 goes from 150 of 1000 to 350 of 2000 busy
        // ticks (20 %), core 1 from 0 of 1000 to 500 of 2000 (50 %).
        let start = ContinuousClock.now
        let before = ProcFS.parseStat(
            Self.stat(
                [
                    [100, 0, 50, 1800, 50, 0, 0, 0],
                    [100, 0, 50, 800, 50, 0, 0, 0],
                    [0, 0, 0, 1000, 0, 0, 0, 0],
                ],
                contextSwitches: 526_935,
                interrupts: 415_884
            )
        )
        let after = ProcFS.parseStat(
            Self.stat(
                [
                    [750, 0, 100, 3050, 100, 0, 0, 0],
                    [250, 0, 100, 1550, 100, 0, 0, 0],
                    [500, 0, 0, 1500, 0, 0, 0, 0],
                ],
                contextSwitches: 527_935,
                interrupts: 416_884
            )
        )

        // When the rates are applied
        var snapshot = SystemSnapshot()
        SystemRates.apply(
            from: SystemCounters(takenAt: start, stat: before),
            to: SystemCounters(takenAt: start + .seconds(2), stat: after),
            frequenciesMHz: [0: 2596.144],
            into: &snapshot
        )

        // Then the busy share is exact, and counters become per-second rates
        #expect(snapshot.cpuPercent == 35)
        #expect(
            snapshot.cores == [
                SystemSnapshot.Core(core: 0, percent: 20, frequencyMHz: 2596.144),
                SystemSnapshot.Core(core: 1, percent: 50),
            ]
        )
        #expect(snapshot.contextSwitchesPerSecond == 500)
        #expect(snapshot.interruptsPerSecond == 500)
    }

    @Test("iowait counts as idle in CPU percent")
    func iowaitIsIdle() {
        let before = ProcFS.CPUTimes(user: 0, idle: 0, iowait: 0)
        let after = ProcFS.CPUTimes(user: 25, idle: 25, iowait: 50)
        #expect(SystemRates.cpuPercent(from: before, to: after) == 25)
    }

    @Test("no CPU percent when no ticks passed or the counters went back")
    func cpuPercentNeedsTicks() {
        let sample = ProcFS.CPUTimes(user: 10, idle: 90)
        #expect(SystemRates.cpuPercent(from: sample, to: sample) == nil)
        #expect(SystemRates.cpuPercent(from: ProcFS.CPUTimes(user: 20, idle: 90), to: sample) == nil)
        #expect(SystemRates.perSecond(from: 10, to: 5, seconds: 1) == nil)
        #expect(SystemRates.perSecond(from: 10, to: 20, seconds: 0) == nil)
        #expect(SystemRates.perSecond(from: nil, to: 20, seconds: 1) == nil)
        #expect(SystemRates.perSecond(from: 10, to: 20, seconds: 4) == 2.5)
    }

    // MARK: - /proc/loadavg, /proc/meminfo, cpu frequency

    @Test("parses the load averages and running/total of /proc/loadavg")
    func parsesLoadAverage() throws {
        let load = try #require(ProcFS.parseLoadAverage("0.83 1.26 1.05 2/88 13111\n"))
        #expect(load.load1 == 0.83)
        #expect(load.load5 == 1.26)
        #expect(load.load15 == 1.05)
        #expect(load.runnable == 2)
        #expect(load.scheduled == 88)
        #expect(ProcFS.parseLoadAverage("") == nil)
        #expect(ProcFS.parseLoadAverage("0.1 nan 0.3 1/2 3") == nil)
        #expect(ProcFS.parseLoadAverage("0.1 0.2") == nil)
    }

    @Test("parses /proc/meminfo into bytes, with used = total - available")
    func parsesMemInfo() throws {
        let memory = try #require(ProcFS.parseMemInfo(Self.memInfoSample))
        #expect(memory.totalBytes == 24_684_092 * 1024)
        #expect(memory.availableBytes == 24_164_320 * 1024)
        #expect(memory.usedBytes == (24_684_092 - 24_164_320) * 1024)
        #expect(memory.cachedBytes == 1_147_564 * 1024)
        #expect(memory.buffersBytes == 21_756 * 1024)
        #expect(memory.sharedBytes == 8_856 * 1024)
        #expect(memory.swapTotalBytes == 2_097_148 * 1024)
        #expect(memory.swapUsedBytes == (2_097_148 - 1_572_860) * 1024)

        let fields = ProcFS.parseMemInfoFields(Self.memInfoSample)
        #expect(fields["HugePages_Total"] == 0)
        #expect(fields["Hugepagesize"] == 2048 * 1024)
    }

    @Test("meminfo without MemAvailable (kernels before 3.14) falls back to MemFree")
    func memInfoFallsBackToMemFree() throws {
        let memory = try #require(ProcFS.parseMemInfo("MemTotal: 1000 kB\nMemFree: 400 kB\nCached: 100 kB\n"))
        #expect(memory.availableBytes == 400 * 1024)
        #expect(memory.usedBytes == 600 * 1024)
        #expect(memory.swapTotalBytes == 0)
        #expect(memory.swapUsedBytes == 0)
    }

    @Test("meminfo without MemTotal or with overflowing values yields no invented figure")
    func memInfoRejectsGarbage() {
        #expect(ProcFS.parseMemInfo("MemFree: 400 kB\n") == nil)
        #expect(ProcFS.parseMemInfo("") == nil)
        #expect(ProcFS.parseMemInfo("MemTotal: 18446744073709551615 kB\n") == nil)
        #expect(ProcFS.parseMemInfo("MemTotal: lots kB\n") == nil)
    }

    @Test("reads cpu MHz per processor from /proc/cpuinfo and kHz from scaling_cur_freq")
    func parsesFrequencies() {
        let cpuInfo = """
            processor\t: 0
            vendor_id\t: AuthenticAMD
            model name\t: AMD EPYC
            cpu MHz\t\t: 2596.144
            cache size\t: 1024 KB

            processor\t: 1
            vendor_id\t: AuthenticAMD
            cpu MHz\t\t: 3400.000
            flags\t\t: fpu vme de pse tsc msr pae mce cx8

            """
        #expect(ProcFS.parseCPUInfoFrequencies(cpuInfo) == [0: 2596.144, 1: 3400])
        // ARM kernels list processors without a frequency.
        #expect(ProcFS.parseCPUInfoFrequencies("processor\t: 0\nBogoMIPS\t: 50.00\n").isEmpty)
        #expect(ProcFS.parseKilohertzAsMegahertz("2800000\n") == 2800)
        #expect(ProcFS.parseKilohertzAsMegahertz("<unknown>\n") == nil)
    }

    // MARK: - Mounts and disks

    @Test("parses /proc/self/mounts and undoes the kernel's octal escapes")
    func parsesMounts() throws {
        let mounts = ProcFS.parseMounts(Self.mountsSample)
        #expect(mounts.count == 10)
        let vfat = try #require(mounts.first { $0.fsType == "vfat" })
        #expect(vfat.mountPoint == "/mnt/My Disk")
        #expect(vfat.device == "/dev/nvme0n1p1")
        #expect(ProcFS.parseMounts("only two\n\n").isEmpty)
        #expect(ProcFS.parseMounts("/dev/sda /a\\134b\\0 ext4 rw 0 0\n").first?.mountPoint == "/a\\b\\0")
    }

    @Test(
        "keeps block-device and overlay mounts, skips pseudo, memory, image and network filesystems",
        arguments: [
            ("/dev/vda", "ext4", true),
            ("/dev/mapper/vg-root", "xfs", true),
            ("overlay", "overlay", true),
            ("rpool/ROOT", "zfs", true),
            ("proc", "proc", false),
            ("sysfs", "sysfs", false),
            ("tmpfs", "tmpfs", false),
            ("devtmpfs", "devtmpfs", false),
            ("cgroup", "cgroup", false),
            ("cgroup2", "cgroup2", false),
            ("/dev/loop3", "squashfs", false),
            ("/dev/loop4", "ext4", false),
            ("server:/export", "nfs4", false),
            ("none", "fuse.lxcfs", false),
        ]
    )
    func filtersMounts(device: String, fsType: String, kept: Bool) {
        let entry = ProcFS.MountEntry(device: device, mountPoint: "/x", fsType: fsType)
        #expect(ProcFS.isStorageMount(entry) == kept)
    }

    @Test("parses /proc/diskstats in the 11-, 17- and 20-column layouts")
    func parsesDiskStats() throws {
        let disks = ProcFS.parseDiskStats(Self.diskStatsSample)
        #expect(disks.map(\.name) == ["loop0", "ram0", "nvme0n1", "nvme0n1p1", "vda", "zram0", "sda"])
        let nvme = try #require(disks.first { $0.name == "nvme0n1" })
        #expect(
            nvme
                == ProcFS.DiskCounters(
                    name: "nvme0n1",
                    readsCompleted: 143_690,
                    sectorsRead: 11_238_650,
                    writesCompleted: 317_426,
                    sectorsWritten: 19_541_402,
                    ioTicksMillis: 293_260
                )
        )
        let sda = try #require(disks.first { $0.name == "sda" })
        #expect(sda.ioTicksMillis == 2908)
        #expect(disks.filter { !ProcFS.isVirtualDisk($0.name) }.map(\.name) == ["nvme0n1", "nvme0n1p1", "vda", "sda"])
        // Kernel 2.6's short partition lines and garbage are skipped.
        #expect(ProcFS.parseDiskStats("   8    1 sda1 4 5 6 7\n 8 0 sdb a b c d e f g h i j k\n").isEmpty)
    }

    @Test("disk rates: IOPS, 512-byte sectors per second and utilisation from io_ticks")
    func diskRates() throws {
        let before = ProcFS.DiskCounters(
            name: "vda",
            readsCompleted: 1000,
            sectorsRead: 80_000,
            writesCompleted: 500,
            sectorsWritten: 40_000,
            ioTicksMillis: 10_000
        )
        var after = before
        after.readsCompleted += 200
        after.sectorsRead += 4096
        after.writesCompleted += 200
        after.sectorsWritten += 2048
        after.ioTicksMillis += 500

        let disks = SystemRates.disks(from: [before], to: [after], seconds: 2)
        let disk = try #require(disks.first)
        #expect(disks.count == 1)
        #expect(disk.readIOPS == 100)
        #expect(disk.writeIOPS == 100)
        #expect(disk.readBytesPerSecond == 1_048_576)
        #expect(disk.writeBytesPerSecond == 524_288)
        #expect(disk.utilisationPercent == 25)

        // A disk that appeared between samples, or whose counters reset, has no figures this run.
        var reset = before
        reset.readsCompleted = 0
        #expect(SystemRates.disks(from: [before], to: [reset], seconds: 2).isEmpty)
        #expect(SystemRates.disks(from: [], to: [after], seconds: 2).isEmpty)
        // Utilisation cannot exceed 100 % even when the kernel's ticks run ahead of our clock.
        #expect(SystemRates.disks(from: [before], to: [after], seconds: 0.25).first?.utilisationPercent == 100)
    }

    // MARK: - Files, sockets, TCP

    @Test("open files is the first field of file-nr")
    func parsesFileNr() {
        #expect(ProcFS.parseFileNr("502\t0\t2466177\n") == 502)
        #expect(ProcFS.parseFileNr("") == nil)
        #expect(ProcFS.parseFileNr("x 0 1") == nil)
    }

    @Test("parses the TCP line of /proc/net/sockstat")
    func parsesSockStat() throws {
        let tcp = try #require(ProcFS.parseSockStat(Self.sockStatSample))
        #expect(tcp.inUse == 41)
        #expect(tcp.orphan == 2)
        #expect(tcp.timeWait == 17)
        #expect(tcp.allocated == 58)
        #expect(ProcFS.parseSockStat("UDP: inuse 0 mem 0\n") == nil)
        // A truncated line keeps the pairs it has.
        #expect(ProcFS.parseSockStat("TCP: inuse 3 orphan")?.inUse == 3)
    }

    @Test("reads OutSegs and RetransSegs from the Tcp lines of /proc/net/snmp")
    func parsesSNMP() throws {
        let tcp = try #require(ProcFS.parseSNMPTCP(Self.snmpSample))
        #expect(tcp == ProcFS.TCPSegmentCounters(outSegments: 248, retransmittedSegments: 7))
        #expect(ProcFS.parseSNMPTCP("Tcp: OutSegs RetransSegs\n") == nil)
        #expect(ProcFS.parseSNMPTCP("Tcp: OutSegs RetransSegs\nTcp: 5\n") == nil)
    }

    @Test("retransmit percent is retransmitted over sent segments between samples")
    func retransmitPercent() {
        let before = ProcFS.TCPSegmentCounters(outSegments: 1000, retransmittedSegments: 10)
        let after = ProcFS.TCPSegmentCounters(outSegments: 2000, retransmittedSegments: 30)
        #expect(SystemRates.retransmitPercent(from: before, to: after) == 2)
        // Nothing sent: no figure rather than 0 of 0.
        #expect(SystemRates.retransmitPercent(from: before, to: before) == nil)
    }

    // MARK: - Interfaces, wireless, sensors, processes

    @Test("parses /proc/net/dev, including names glued to their first counter")
    func parsesNetDev() throws {
        let interfaces = ProcFS.parseNetDev(Self.netDevSample)
        #expect(interfaces.map(\.name) == ["lo", "eth0", "wlp2s0"])
        let eth0 = try #require(interfaces.first { $0.name == "eth0" })
        #expect(
            eth0
                == ProcFS.InterfaceCounters(
                    name: "eth0",
                    rxBytes: 11_285_498,
                    rxPackets: 281,
                    rxErrors: 2,
                    rxDrops: 5,
                    txBytes: 18_717,
                    txPackets: 231,
                    txErrors: 1,
                    txDrops: 3
                )
        )
        #expect(interfaces.last?.rxBytes == 4_180_323_021)
        #expect(ProcFS.parseNetDev("eth0: 1 2 3\nbad line\n: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n").isEmpty)
    }

    @Test("interface rates are per-second deltas; errors and drops are the kernel's totals")
    func interfaceRates() throws {
        let before = ProcFS.InterfaceCounters(
            name: "eth0",
            rxBytes: 1_000_000,
            rxPackets: 1000,
            txBytes: 500,
            txPackets: 10
        )
        let after = ProcFS.InterfaceCounters(
            name: "eth0",
            rxBytes: 3_000_000,
            rxPackets: 3000,
            rxErrors: 4,
            rxDrops: 6,
            txBytes: 1500,
            txPackets: 30,
            txErrors: 1,
            txDrops: 2
        )
        let interface = try #require(SystemRates.interfaces(from: [before], to: [after], seconds: 2).first)
        #expect(interface.rxBytesPerSecond == 1_000_000)
        #expect(interface.rxPacketsPerSecond == 1000)
        #expect(interface.txBytesPerSecond == 500)
        #expect(interface.txPacketsPerSecond == 10)
        #expect(interface.rxErrors == 4)
        #expect(interface.rxDrops == 6)
        #expect(interface.txErrors == 1)
        #expect(interface.txDrops == 2)
        // A counter reset (interface re-created) gives no rate this run.
        #expect(SystemRates.interfaces(from: [after], to: [before], seconds: 2).isEmpty)
    }

    @Test("interface speed ignores the -1 that virtual links report")
    func parsesSpeed() {
        #expect(ProcFS.parseInterfaceSpeed("1000\n") == 1000)
        #expect(ProcFS.parseInterfaceSpeed("-1\n") == nil)
        #expect(ProcFS.parseInterfaceSpeed("") == nil)
    }

    @Test("wireless signal is read in dBm; a non-dBm level stays absent")
    func parsesWireless() {
        let links = ProcFS.parseWireless(Self.wirelessSample)
        #expect(links.map(\.interface) == ["wlp2s0", "wlan1"])
        #expect(links.first?.signalDBm == -56)
        #expect(links.last?.signalDBm == nil)
        #expect(ProcFS.parseWireless("").isEmpty)
    }

    @Test(
        "hwmon files convert to degrees, RPM and watts",
        arguments: [
            ("temp1_input", "45500\n", ProcFS.SensorKind.temperature, 45.5),
            ("fan2_input", "1200\n", .fan, 1200),
            ("power1_input", "12500000\n", .power, 12.5),
            ("temp3_input", "-5000\n", .temperature, -5),
        ]
    )
    func parsesSensors(file: String, contents: String, kind: ProcFS.SensorKind, value: Double) throws {
        let reading = try #require(ProcFS.parseSensor(fileName: file, contents: contents))
        #expect(reading.kind == kind)
        #expect(reading.value == value)
    }

    @Test("other hwmon files and unreadable values are not sensors")
    func rejectsNonSensors() {
        #expect(ProcFS.parseSensor(fileName: "temp1_label", contents: "Package id 0") == nil)
        #expect(ProcFS.parseSensor(fileName: "temp1_max", contents: "100000") == nil)
        #expect(ProcFS.parseSensor(fileName: "temp_input", contents: "100000") == nil)
        #expect(ProcFS.parseSensor(fileName: "in0_input", contents: "1000") == nil)
        #expect(ProcFS.parseSensor(fileName: "temp1_input", contents: "") == nil)
    }

    @Test("process count is the number of numeric /proc entries")
    func countsProcesses() {
        #expect(ProcFS.countProcesses(["1", "42", "self", "net", "1234", "sys", "12a", ""]) == 3)
    }

    // MARK: - The probe on a fake tree

    /// Writes `files` (paths relative to the root) into a fresh temporary directory, runs `body` on it
    /// and removes it in every path.
    static func withFakeRoot<T>(_ files: [String: String], _ body: (String) async throws -> T) async throws -> T {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("system-probe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write(files, under: root)
        return try await body(root)
    }

    static func write(_ files: [String: String], under root: String) throws {
        for (relative, contents) in files {
            let path = root + "/" + relative
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try contents.write(toFile: path, atomically: false, encoding: .utf8)
        }
    }

    static let fakeTree: [String: String] = [
        "proc/stat": statSample,
        "proc/loadavg": "0.83 1.26 1.05 2/88 13111\n",
        "proc/meminfo": memInfoSample,
        "proc/cpuinfo": "processor\t: 0\ncpu MHz\t\t: 2000.000\n\nprocessor\t: 1\ncpu MHz\t\t: 2500.000\n",
        "sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq": "3000000\n",
        "proc/self/mounts": mountsSample,
        "proc/diskstats": diskStatsSample,
        "sys/class/block/nvme0n1p1/partition": "1\n",
        "proc/sys/fs/file-nr": "502\t0\t2466177\n",
        "proc/net/sockstat": sockStatSample,
        "proc/net/snmp": snmpSample,
        "proc/net/dev": netDevSample,
        "proc/net/wireless": wirelessSample,
        "proc/1/stat": "1 (init) S\n",
        "proc/77/stat": "77 (sshd) S\n",
        "sys/class/net/eth0/speed": "1000\n",
        "sys/class/net/eth0/mtu": "1500\n",
        "sys/class/net/eth0/operstate": "up\n",
        "sys/class/net/lo/mtu": "65536\n",
        "sys/class/net/lo/operstate": "unknown\n",
        "sys/class/hwmon/hwmon0/name": "coretemp\n",
        "sys/class/hwmon/hwmon0/temp1_input": "45000\n",
        "sys/class/hwmon/hwmon0/temp1_label": "Package id 0\n",
        "sys/class/hwmon/hwmon0/temp2_input": "41000\n",
        "sys/class/hwmon/hwmon1/name": "nct6775\n",
        "sys/class/hwmon/hwmon1/fan1_input": "1200\n",
        "sys/class/hwmon/hwmon1/power1_input": "12500000\n",
    ]

    @Test("a run on a fake /proc and /sys reports every level figure from its files")
    func runsOnFakeTree() async throws {
        let observation = try await Self.withFakeRoot(Self.fakeTree) { root in
            await SystemProbe(root: root).run(Self.context(timeout: .milliseconds(20)))
        }
        #expect(observation.status == .ok)
        #expect(observation.kind == .system)
        guard case .system(let snapshot) = try #require(observation.result) else {
            Issue.record("expected a system result")
            return
        }

        #expect(snapshot.coreCount == 2)
        #expect(snapshot.load1 == 0.83)
        #expect(snapshot.load15 == 1.05)
        #expect(snapshot.memoryTotalBytes == 24_684_092 * 1024)
        #expect(snapshot.memoryUsedBytes == (24_684_092 - 24_164_320) * 1024)
        #expect(snapshot.swapUsedBytes == (2_097_148 - 1_572_860) * 1024)
        #expect(snapshot.processCount == 2)
        #expect(snapshot.openFiles == 502)
        #expect(snapshot.tcpSockets.inUse == 41)
        #expect(snapshot.tcpSockets.timeWait == 17)
        // cpufreq wins over cpuinfo where it exists.
        #expect(snapshot.cpuFrequencyMHz == 2500)

        // Counters did not move between the two samples: no CPU share can be computed, rates are 0.
        #expect(snapshot.cpuPercent == nil)
        #expect(snapshot.tcpRetransmitPercent == nil)
        #expect(snapshot.contextSwitchesPerSecond == 0)

        // Whole, real disks only: no loop, ram, zram or partition.
        #expect(snapshot.disks.map(\.device) == ["nvme0n1", "vda", "sda"])

        // "/" maps to the fake root, a real directory; the other block mounts do not exist there.
        #expect(snapshot.mounts.map(\.mountPoint) == ["/"])
        let rootMount = try #require(snapshot.mounts.first)
        #expect(rootMount.totalBytes > 0)
        #expect((0...100).contains(rootMount.usedPercent))

        let eth0 = try #require(snapshot.interfaces.first { $0.name == "eth0" })
        #expect(eth0.speedMbps == 1000)
        #expect(eth0.mtu == 1500)
        #expect(eth0.operState == "up")
        #expect(eth0.rxErrors == 2)
        let lo = try #require(snapshot.interfaces.first { $0.name == "lo" })
        #expect(lo.speedMbps == nil)
        #expect(lo.mtu == 65536)
        let wlan = try #require(snapshot.interfaces.first { $0.name == "wlp2s0" })
        #expect(wlan.mtu == 0)
        #expect(wlan.operState == "")

        #expect(
            snapshot.sensors == [
                SystemSnapshot.Sensor(kind: "temperature_c", name: "coretemp Package id 0", value: 45),
                SystemSnapshot.Sensor(kind: "temperature_c", name: "coretemp temp2", value: 41),
                SystemSnapshot.Sensor(kind: "fan_rpm", name: "nct6775 fan1", value: 1200),
                SystemSnapshot.Sensor(kind: "power_w", name: "nct6775 power1", value: 12.5),
            ]
        )
        let wireless = try #require(snapshot.wireless.first)
        #expect(wireless.interface == "wlp2s0" && wireless.signalDBm == -56)
        // The fake tree has no /sys/class/ieee80211: bitrate and frequency are absent, and say why.
        #expect(wireless.bitrateMbps == nil && wireless.frequencyMHz == nil)
        #expect(wireless.absentReason.contains("no Wi-Fi radio"))
        #expect(observation.reason.isEmpty)
    }

    @Test("rates from a fake tree whose counters move between two reads")
    func ratesFromFakeTree() async throws {
        try await Self.withFakeRoot(Self.fakeTree) { root in
            // Given a first sample
            let reader = ProcFSReader(root: root)
            let start = ContinuousClock.now
            let before = reader.readCounters(at: start)

            // When the counters advance and a second sample is read two seconds later
            try Self.write(
                [
                    "proc/stat": Self.stat(
                        [
                            [85486, 0, 11338, 78050, 639, 0, 93, 421],
                            [39946, 0, 5190, 42616, 54, 0, 8, 208],
                            [45539, 0, 6148, 35434, 585, 0, 84, 213],
                        ],
                        contextSwitches: 528_935,
                        interrupts: 416_884
                    ),
                    "proc/net/snmp": Self.snmpSample.replacingOccurrences(of: "305 248 7", with: "405 448 9"),
                ],
                under: root
            )
            let after = reader.readCounters(at: start + .seconds(2))
            let (snapshot, unreadable) = reader.makeSnapshot(
                previous: before,
                current: after,
                options: .init(perCore: true)
            )

            // Then the CPU share and rates follow from the deltas: 100 busy of 400 ticks in total,
            // 50 of 200 on each core.
            #expect(unreadable.isEmpty)
            #expect(snapshot.cpuPercent == 25)
            #expect(snapshot.cores.map(\.percent) == [25, 25])
            #expect(snapshot.cores.map(\.frequencyMHz) == [2000, 3000])
            #expect(snapshot.contextSwitchesPerSecond == 1000)
            #expect(snapshot.interruptsPerSecond == 500)
            #expect(snapshot.tcpRetransmitPercent == 1)
        }
    }

    @Test("missing files leave their figures absent and are named in the reason")
    func namesUnreadableFiles() async throws {
        let observation = try await Self.withFakeRoot(["proc/stat": Self.statSample]) { root in
            await SystemProbe(root: root).run(Self.context(timeout: .milliseconds(20)))
        }
        #expect(observation.status == .ok)
        #expect(observation.reason.contains("proc/meminfo"))
        #expect(observation.reason.contains("proc/net/dev"))
        guard case .system(let snapshot) = try #require(observation.result) else {
            Issue.record("expected a system result")
            return
        }
        #expect(snapshot.memoryTotalBytes == 0)
        #expect(snapshot.coreCount == 2)
        #expect(snapshot.interfaces.isEmpty)
    }

    @Test("without a readable /proc the run fails with a reason")
    func failsWithoutProc() async throws {
        let observation = try await Self.withFakeRoot([:]) { root in
            await SystemProbe(root: root).run(Self.context(timeout: .milliseconds(20)))
        }
        #expect(observation.status == .failed)
        #expect(observation.reason.contains("proc/stat"))
        #expect(observation.result == nil)
    }

    // MARK: - The probe on this host

    @Test("a run on this host reports sane figures", .timeLimit(.minutes(1)))
    func runsOnThisHost() async throws {
        let probe = SystemProbe()
        let observation = await probe.run(Self.context(timeout: .seconds(5)))
        #expect(observation.status == .ok)
        guard case .system(let snapshot) = try #require(observation.result) else {
            Issue.record("expected a system result")
            return
        }

        let memInfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let memTotalLine = try #require(memInfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") })
        let memTotalKB = try #require(UInt64(memTotalLine.split(separator: " ")[1]))
        #expect(snapshot.memoryTotalBytes == memTotalKB * 1024)
        #expect(snapshot.memoryUsedBytes <= snapshot.memoryTotalBytes)

        let stat = try String(contentsOfFile: "/proc/stat", encoding: .utf8)
        let cpuLines = stat.split(separator: "\n").filter { line in
            line.hasPrefix("cpu") && line.dropFirst(3).first.map(\.isNumber) == true
        }
        #expect(snapshot.coreCount == cpuLines.count)
        #expect(snapshot.coreCount > 0)

        let cpuPercent = try #require(snapshot.cpuPercent)
        #expect((0...100).contains(cpuPercent))
        #expect(snapshot.cores.allSatisfy { (0...100).contains($0.percent) })
        #expect(snapshot.load1 >= 0)
        #expect(snapshot.processCount > 0)
        #expect(snapshot.interfaces.contains { $0.name == "lo" })
        #expect(snapshot.mounts.allSatisfy { $0.totalBytes > 0 && (0...100).contains($0.usedPercent) })

        // A second run uses the first run's counters as its baseline.
        let second = await probe.run(Self.context(timeout: .seconds(5)))
        #expect(second.status == .ok)
    }

    static func context(timeout: Duration) -> ProbeContext {
        ProbeContext(
            testID: TestID(1),
            revision: 1,
            spec: TestSpec(name: "system", probes: [.system], schedule: TestSpec.Schedule(timeout: timeout))
        )
    }
}
