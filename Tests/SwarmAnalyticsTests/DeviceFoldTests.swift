import SwarmAnalytics
import SwarmCore
import Testing

/// The device folds: typed results in, status and figures out, no store.
@Suite struct DeviceFoldTests {
    static func observation(
        _ kind: ProbeKind,
        at seconds: Int64,
        status: MeasurementStatus = .ok,
        reason: String = "",
        result: ProbeResult?
    ) -> ProbeObservation {
        ProbeObservation(
            testID: TestID(1),
            revision: 1,
            kind: kind,
            startedAt: Timestamp(unixNanos: seconds * 1_000_000_000),
            duration: .seconds(1),
            status: status,
            reason: reason,
            result: result
        )
    }

    static func snapshot(cpu: Double, inErrors: UInt64, drops: UInt64, errorKind: String = "") -> GNMISnapshot {
        var s = GNMISnapshot(deviceID: 1, deviceAddress: "192.0.2.1")
        var eth = GNMISnapshot.Interface(name: "eth0")
        eth.inErrors = inErrors
        eth.inBitsPerSecond = cpu * 1e6
        eth.operStatus = "UP"
        s.interfaces = [eth]
        var queue = GNMISnapshot.Queue(interface: "eth0", queue: "BE")
        queue.droppedPackets = drops
        s.queues = [queue]
        s.cpuPercent = cpu
        s.errorKind = errorKind
        return s
    }

    @Test("no results is pending")
    func pending() {
        let status = DeviceStatus.fold(newestFirst: [])
        #expect(status.state == "pending" && status.at == nil && status.summary == "no results yet")
    }

    @Test("state and error kind from the newest result, figures from the newest ok one, capabilities from any")
    func status() {
        var connected = Self.snapshot(cpu: 10, inErrors: 0, drops: 0)
        connected.capabilities = .init(version: "0.10.0")
        let results = [
            Self.observation(
                .gnmi,
                at: 30,
                status: .failed,
                reason: "refused",
                result: .gnmi(Self.snapshot(cpu: 0, inErrors: 0, drops: 0, errorKind: "wrong_credentials"))
            ),
            Self.observation(.gnmi, at: 20, result: .gnmi(Self.snapshot(cpu: 20, inErrors: 0, drops: 0))),
            Self.observation(.gnmi, at: 10, result: .gnmi(connected)),
        ]
        let status = DeviceStatus.fold(newestFirst: results)
        #expect(status.state == "failed" && status.reason == "refused" && status.errorKind == "wrong_credentials")
        #expect(status.at == Timestamp(unixNanos: 30_000_000_000))
        #expect(status.snapshot?.cpuPercent == 20)
        #expect(status.capabilities?.version == "0.10.0")
    }

    @Test("figures: CPU average and maximum, counter growth across a reset, queue drops, newest status")
    func figures() {
        let results = [
            Self.observation(.gnmi, at: 1, result: .gnmi(Self.snapshot(cpu: 10, inErrors: 5, drops: 1))),
            Self.observation(.gnmi, at: 2, result: .gnmi(Self.snapshot(cpu: 30, inErrors: 8, drops: 4))),
            // A reboot: counters start again and the reset is skipped, not subtracted.
            Self.observation(.gnmi, at: 3, result: .gnmi(Self.snapshot(cpu: 20, inErrors: 2, drops: 0))),
            Self.observation(.gnmi, at: 4, status: .timeout, reason: "no answer", result: nil),
        ]
        let figures = DeviceFigures.fold(oldestFirst: results)
        #expect(figures.samples == 3)
        #expect(figures.cpuAveragePercent == 20 && figures.cpuMaxPercent == 30)
        #expect(figures.interfaces.map(\.inErrors) == [3])
        #expect(figures.interfaces.first?.inBitsPerSecondMax == 30e6)
        #expect(figures.queueDrops == 3)
        #expect(figures.status == "timeout" && figures.reason == "no answer")
        #expect(DeviceFigures.fold(oldestFirst: []).status == "no results")
    }

    @Test("path: hops counted per TTL and address, joined to devices, figures attached per device")
    func path() {
        func trace(_ addresses: [String]) -> ProbeResult {
            var r = TracerouteProbeResult()
            r.hops = addresses.enumerated().map { index, address in
                var hop = TracerouteHop(ttl: index + 1)
                hop.address = address
                return hop
            }
            return .traceroute(r)
        }
        let traces = [
            Self.observation(.traceroute, at: 1, result: trace(["10.0.0.1", "", "192.0.2.9"])),
            Self.observation(.traceroute, at: 2, result: trace(["10.0.0.1", "10.0.1.1", "192.0.2.9"])),
            Self.observation(.traceroute, at: 3, result: trace(["10.0.0.2", "10.0.1.1", "192.0.2.9"])),
            Self.observation(.traceroute, at: 4, status: .failed, result: nil),
            Self.observation(.icmp, at: 5, result: nil),
        ]
        var path = PathCorrelation.fold(
            traces: traces,
            devicesByAddress: ["10.0.0.1": "r1", "10.0.1.1": "r2", "10.0.0.2": "r1"]
        )
        #expect(path.runs == 4)
        #expect(path.hops.map(\.ttl) == [1, 1, 2, 3])
        #expect(path.hops.map(\.address) == ["10.0.0.1", "10.0.0.2", "10.0.1.1", "192.0.2.9"])
        #expect(path.hops.map(\.seen) == [2, 1, 2, 3])
        #expect(path.hops.map(\.device) == ["r1", "r1", "r2", nil])
        #expect(path.devices == ["r1", "r2"])
        path.attach(["r1": DeviceFigures(samples: 4, status: "ok")])
        #expect(path.hops.map { $0.figures?.samples } == [4, 4, nil, nil])
    }
}
