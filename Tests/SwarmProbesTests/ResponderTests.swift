import Foundation
import Logging
import SwarmCore
import SwarmProbes
import Testing

/// The UDP echo and bandwidth responders on loopback: swarm members get answers, strangers are
/// dropped and counted, and the responders keep serving afterwards.
@Suite(.timeLimit(.minutes(1))) struct ResponderTests {
    let key = ResponderKey.random()
    let logger = Logger(label: "test.responder")

    func context(
        _ kind: ProbeKind,
        port: Int,
        key: ResponderKey?,
        configure: (inout TestSpec) -> Void = { _ in }
    )
        -> ProbeContext
    {
        var spec = TestSpec(name: "t", probes: [kind], target: .init(host: "127.0.0.1", port: port))
        spec.schedule.timeout = .milliseconds(500)
        configure(&spec)
        return ProbeContext(testID: TestID(1), revision: 1, spec: spec, responderKey: key)
    }

    @Test("udp: members are answered with the DSCP seen; a wrong key and garbage are refused and counted")
    func udpEcho() async throws {
        let responder = try UDPEchoResponder(host: "127.0.0.1", port: 0, keyring: ResponderKeyring(key), logger: logger)
        responder.start()
        defer { responder.stop() }

        let good = await UDPProbe().run(
            context(.udp, port: responder.port, key: key) {
                $0.options.dscp = 46
                $0.options.udp = .init(packetsPerSecond: 200, duration: .milliseconds(100))
            }
        )
        #expect(good.status == .ok, "\(good.reason)")
        guard case .udp(let result)? = good.result else {
            Issue.record("no udp result")
            return
        }
        #expect(result.tally.sent == 20 && result.tally.received == 20)
        #expect(result.dscpSent == 46 && result.dscpReceived == 46)
        #expect((result.rtt.p50 ?? .zero) > .zero)

        let stranger = await UDPProbe().run(
            context(.udp, port: responder.port, key: .random()) {
                $0.options.udp = .init(packetsPerSecond: 100, duration: .milliseconds(50))
            }
        )
        #expect(stranger.status == .timeout)
        #expect(responder.counters.refusedUnauthenticated == 5)

        // Garbage from a plain socket: counted as malformed, never answered.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(responder.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let garbage = [UInt8](repeating: 0xff, count: 64)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, garbage, garbage.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let counted = await eventuallyTrue { responder.counters.refusedMalformed == 1 }
        #expect(counted)

        // Still serving members.
        let again = await UDPProbe().run(context(.udp, port: responder.port, key: key))
        #expect(again.status == .ok, "\(again.reason)")
    }

    @Test("udp without a key says where the key comes from")
    func udpWithoutKey() async {
        let observation = await UDPProbe().run(context(.udp, port: 9, key: nil))
        #expect(observation.status == .failed)
        #expect(observation.reason.contains("no responder key"))
    }

    @Test("bandwidth: download and upload measured; a stranger's hello is refused; runs never overlap")
    func bandwidth() async throws {
        let responder = try BandwidthResponder(
            host: "127.0.0.1",
            port: 0,
            keyring: ResponderKeyring(key),
            logger: logger
        )
        responder.start()
        defer { responder.stop() }
        let both = context(.bandwidth, port: responder.port, key: key) {
            $0.options.bandwidth = .init(direction: .both, streams: 2, duration: .milliseconds(1200))
        }
        let observation = await BandwidthProbe().run(both)
        #expect(observation.status == .ok, "\(observation.reason)")
        guard case .bandwidth(let result)? = observation.result else {
            Issue.record("no result")
            return
        }
        #expect((result.downloadMbps ?? 0) > 10 && (result.uploadMbps ?? 0) > 10)
        #expect(result.bytesDown > 0 && result.bytesUp > 0 && result.streams == 2)
        #expect(result.perSecondMbps.count >= 2)

        let stranger = await BandwidthProbe().run(
            context(.bandwidth, port: responder.port, key: .random()) {
                $0.options.bandwidth = .init(duration: .milliseconds(200))
            }
        )
        #expect(stranger.status == .failed)
        #expect(stranger.reason.contains("refused"), "\(stranger.reason)")
        #expect(responder.counters.refusedUnauthenticated == 1)

        // Two runs started together take turns.
        let short = context(.bandwidth, port: responder.port, key: key) {
            $0.options.bandwidth = .init(duration: .milliseconds(400))
        }
        async let first = BandwidthProbe().run(short)
        async let second = BandwidthProbe().run(short)
        let runs = await [first, second].sorted { $0.startedAt < $1.startedAt }
        #expect(runs.allSatisfy { $0.status == .ok })
        // The later one waited for the lane, so its run spans at least both durations.
        let spans = runs.map { $0.duration }
        #expect(spans.max()! >= .milliseconds(800), "runs overlapped: \(spans)")
    }

    func eventuallyTrue(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<100 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
