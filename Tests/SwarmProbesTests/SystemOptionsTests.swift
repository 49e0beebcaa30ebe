import Foundation
import SwarmCore
import SwarmProbes
import Synchronization
import Testing

/// The system probe's options (per-core CPU, per-process summary) and its Wi-Fi figures from nl80211.
@Suite struct SystemOptionsTests {
    static func context(_ options: TestSpec.SystemOptions, timeout: Duration = .milliseconds(400)) -> ProbeContext {
        var spec = TestSpec(name: "system", probes: [.system], schedule: TestSpec.Schedule(timeout: timeout))
        spec.options.system = options
        return ProbeContext(testID: TestID(1), revision: 1, spec: spec)
    }

    static func snapshot(_ observation: ProbeObservation) throws -> SystemSnapshot {
        guard case .system(let snapshot) = try #require(observation.result) else {
            throw SystemProbeTestsFailure("expected a system result, got \(String(describing: observation.result))")
        }
        return snapshot
    }

    // MARK: - Per-core

    @Test("per-core CPU is reported only when asked for", .timeLimit(.minutes(1)))
    func perCore() async throws {
        // A first run samples over half its timeout (0.5 s here): about 50 ticks per core.
        let plain = try Self.snapshot(
            await SystemProbe().run(Self.context(.init(perCore: false), timeout: .seconds(1)))
        )
        #expect(plain.cores.isEmpty)
        #expect(plain.coreCount > 0)

        let detailed = try Self.snapshot(
            await SystemProbe().run(Self.context(.init(perCore: true), timeout: .seconds(1)))
        )
        #expect(detailed.cores.count == detailed.coreCount)
    }

    // MARK: - Per-process summary

    @Test("a /proc/PID/stat line whose name holds spaces and parentheses")
    func parsesProcessStat() throws {
        let line =
            "4242 (tmux: server (1)) S 1 4242 4242 0 -1 4194624 1187 0 0 0 731 204 0 0 20 0 1 0 "
            + "5031 12197888 1034 18446744073709551615 1 1 0 0 0 0 0 4096 134433283 0 0 0 17 1 0 0 0 0 0\n"
        let sample = try #require(ProcFS.parseProcessStat(line))
        #expect(sample.pid == 4242)
        #expect(sample.name == "tmux: server (1)")
        #expect(sample.cpuTicks == 731 + 204)
        #expect(sample.residentPages == 1034)
        #expect(ProcFS.parseProcessStat("4242 (short) S 1 2") == nil)
        #expect(ProcFS.parseProcessStat("garbage") == nil)
    }

    @Test("the top lists are ordered by CPU share and by resident memory, five at most")
    func topLists() {
        func sample(_ pid: Int, _ ticks: UInt64, _ pages: UInt64) -> ProcFS.ProcessSample {
            ProcFS.ProcessSample(pid: pid, name: "p\(pid)", cpuTicks: ticks, residentPages: pages)
        }
        let before = Dictionary(uniqueKeysWithValues: (1...8).map { ($0, sample($0, 1000, 10)) })
        var after = before
        after[2] = sample(2, 1200, 10)  // 200 ticks in 2 s at 100 Hz: 100% of one core
        after[5] = sample(5, 1050, 900)  // 25%, and the most memory
        after[7] = sample(7, 500, 20)  // ticks went back: a reused pid, no CPU figure
        after[9] = sample(9, 10, 30)  // new since the last sample: all 10 ticks count (5%)
        let top = ProcessSummary.top(
            previous: before,
            current: after,
            seconds: 2,
            ticksPerSecond: 100,
            pageSize: 4096
        )
        #expect(top.byCPU.map(\.pid) == [2, 5, 9])
        #expect(top.byCPU.map(\.cpuPercent) == [100, 25, 5])
        #expect(top.byMemory.count == ProcessSummary.limit)
        #expect(top.byMemory.prefix(3).map(\.pid) == [5, 9, 7])
        #expect(top.byMemory.first?.residentBytes == 900 * 4096)
    }

    @Test("on this host, a busy thread of this process leads the CPU list", .timeLimit(.minutes(1)))
    func perProcessOnThisHost() async throws {
        let stop = StopFlag()
        let spinner = Thread {
            var x: UInt64 = 1
            while !stop.value.load(ordering: .relaxed) { x = x &* 6_364_136_223_846_793_005 &+ 1 }
            _ = x
        }
        spinner.start()
        defer { stop.value.store(true, ordering: .relaxed) }

        let probe = SystemProbe()
        let observation = await probe.run(Self.context(.init(perProcessSummary: true), timeout: .seconds(2)))
        let snapshot = try Self.snapshot(observation)
        let me = Int(getpid())
        #expect(snapshot.topByCPU.contains { $0.pid == me && ($0.cpuPercent ?? 0) > 30 })
        #expect(!snapshot.topByMemory.isEmpty && snapshot.topByMemory.count <= ProcessSummary.limit)
        #expect(
            zip(snapshot.topByMemory, snapshot.topByMemory.dropFirst()).allSatisfy {
                $0.residentBytes >= $1.residentBytes
            }
        )

        let plain = try Self.snapshot(await SystemProbe().run(Self.context(.init(), timeout: .seconds(2))))
        #expect(plain.topByCPU.isEmpty && plain.topByMemory.isEmpty)
    }

    // MARK: - Wi-Fi from nl80211

    /// A reply as the kernel sends it: netlink header, genl header, attributes.
    static func reply(type: UInt16 = 0x1C, command: UInt8, _ attributes: [(UInt16, [UInt8])]) -> [UInt8] {
        var bytes = NL80211.request(family: type, command: command, flags: 0, sequence: 9, attributes: attributes)
        bytes[6] = 0  // replies carry no request flag
        return bytes
    }

    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }

    @Test("interface and station replies give frequency, bitrate and signal")
    func decodesReplies() throws {
        let interface = Self.reply(
            command: 7,
            [(3, Self.le32(3)), (4, Array("wlp2s0".utf8) + [0]), (5, Self.le32(2)), (38, Self.le32(5180))]
        )
        let rate = NL80211.attribute(5, Self.le32(8667))  // BITRATE32: 866.7 Mbit/s
        let info = NL80211.attribute(7, [UInt8(bitPattern: -52)]) + NL80211.attribute(0x8000 | 8, rate)
        let station = Self.reply(command: 20, [(6, [2, 0, 0, 0, 0, 1]), (0x8000 | 21, info)])
        // Two messages in one datagram, as a dump sends them.
        let messages = NL80211.messages(interface + station)
        #expect(messages.count == 2)

        let (index, link) = try #require(NL80211.interface(messages[0]))
        #expect(index == 3)
        #expect(link == NL80211.Link(interface: "wlp2s0", isStation: true, frequencyMHz: 5180))
        let figures = NL80211.station(messages[1])
        #expect(figures.bitrateMbps == 866.7)
        #expect(figures.signalDBm == -52)

        // The legacy 16-bit rate when the 32-bit one is missing; truncated input ends the walk.
        let legacy = NL80211.attribute(0x8000 | 8, NL80211.attribute(1, [0x36, 0x01]))  // 310: 31 Mbit/s
        let old = Self.reply(command: 20, [(0x8000 | 21, legacy)])
        #expect(NL80211.station(NL80211.messages(old)[0]).bitrateMbps == 31)
        #expect(NL80211.messages(Array(station.dropLast(3))).isEmpty)
        #expect(NL80211.errorCode(Self.le32(UInt32(bitPattern: -ENOENT))) == ENOENT)
    }

    @Test("the merge names why bitrate or frequency is absent")
    func mergeReasons() {
        let signals = [ProcFS.WirelessSignal(interface: "wlan0", signalDBm: -60)]
        let up = NL80211.Link(interface: "wlan0", isStation: true, frequencyMHz: 2412, bitrateMbps: 144.4)
        let merged = ProcFSReader.mergeWireless(signals: signals, links: .success([up]))
        #expect(
            merged == [
                SystemSnapshot.Wireless(interface: "wlan0", signalDBm: -60, bitrateMbps: 144.4, frequencyMHz: 2412)
            ]
        )

        let idle = NL80211.Link(interface: "wlan0", isStation: true)
        let ap = NL80211.Link(interface: "wlan1", isStation: false, frequencyMHz: 5200, signalDBm: nil)
        let both = ProcFSReader.mergeWireless(signals: signals, links: .success([idle, ap]))
        #expect(both.map(\.interface) == ["wlan0", "wlan1"])
        #expect(both[0].absentReason.contains("not connected") && both[0].absentReason.contains("not associated"))
        #expect(both[1].frequencyMHz == 5200 && both[1].absentReason.contains("not in station mode"))

        let failed = ProcFSReader.mergeWireless(signals: signals, links: .failure(.init("socket refused")))
        #expect(failed[0].signalDBm == -60 && failed[0].absentReason.contains("socket refused"))
        #expect(ProcFSReader.mergeWireless(signals: [], links: .failure(.init("none"))).isEmpty)
    }

    @Test("a tree with a radio asks nl80211 and reports what it says")
    func radioInTree() async throws {
        let link = NL80211.Link(interface: "wlp2s0", isStation: true, frequencyMHz: 5745, bitrateMbps: 400)
        let snapshot = try await SystemProbeTests.withFakeRoot(
            ["proc/net/wireless": SystemProbeTests.wirelessSample, "sys/class/ieee80211/phy0/index": "0\n"]
        ) { root in
            // The links can only come from this query: a fake tree is never asked over netlink.
            ProcFSReader(root: root) { .success([link]) }.wireless()
        }
        #expect(
            snapshot.first
                == SystemSnapshot.Wireless(interface: "wlp2s0", signalDBm: -56, bitrateMbps: 400, frequencyMHz: 5745)
        )
        // wlan1 is in /proc/net/wireless (a relative level, not dBm) but not in nl80211's answer.
        #expect(
            snapshot.last?.interface == "wlan1" && snapshot.last?.absentReason == "nl80211 does not list this interface"
        )
    }

    @Test("the real nl80211 query on this host lists radios or says why it cannot")
    func queryOnThisHost() {
        let radios = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/ieee80211")) ?? []
        switch NL80211.query() {
        case .success(let links):
            if radios.isEmpty { #expect(links.isEmpty) }
        case .failure(let failure):
            // Without a radio the kernel answers "no such family", which the reason puts in words.
            #expect(failure.reason.contains("nl80211"))
        }
    }
}

final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}

struct SystemProbeTestsFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
