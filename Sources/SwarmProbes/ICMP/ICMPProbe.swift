import CSwarmProbes
import Foundation
import NIOPosix
// why: the probe speaks SwarmCore types (ProbeKind, ProbeObservation).
public import SwarmCore

/// Echo requests like `ping`, measured with kernel receive timestamps (SO_TIMESTAMPNS) against the
/// send time: `count` requests `packetInterval` apart, each waiting up to the test's timeout.
///
/// Unprivileged ICMP datagram sockets come first (`net.ipv4.ping_group_range`), a raw socket second;
/// when neither is allowed the run is `not_permitted` with the fix in the reason.
public struct ICMPProbe: Probe {
    public static let kind: ProbeKind = .icmp

    public init() {}

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let run = context.start(.icmp)
        let spec = context.spec

        let host = spec.target.host
        let resolution = await Resolver.resolve(host: host, family: spec.target.family)
        let address: SocketAddressBytes
        switch resolution {
        case .success(let resolved): address = resolved
        case .failure(let problem): return run.finish(.failed, "icmp: \(problem.message)")
        }
        let key = ICMPEngine.Key(
            family: address.family,
            dscp: spec.options.dscp,
            source: spec.options.sourceAddress,
            interface: spec.options.interface
        )
        let engine: ICMPEngine
        switch ICMPEngine.engine(for: key) {
        case .success(let opened): engine = opened
        case .failure(let problem): return run.finish(problem.status, problem.reason)
        }

        let count = spec.schedule.count
        let replies = ICMPRun(count: count)
        let payloadSize = spec.options.packetSize > 0 ? spec.options.packetSize : 56
        var sendError: Int32 = 0
        for index in 0..<count {
            let rc = engine.send(replies, index: index, to: address, payloadSize: payloadSize)
            if rc != 0 {
                sendError = rc
                replies.noteSendFailed()
            }
            if index < count - 1 { try? await Task.sleep(for: spec.options.icmp.packetInterval) }
        }
        await replies.waitForReplies(timeout: spec.schedule.timeout)
        engine.finish(replies)

        let answered = replies.snapshot
        var result = ICMPProbeResult()
        result.address = address.text
        result.tally.sent = count
        result.tally.received = answered.received
        result.tally.duplicates = answered.duplicates
        result.tally.reordered = answered.reordered
        result.rtts = answered.rtts
        result.rtt = RTTSummary(rtts: answered.rtts.compactMap { $0 })
        result.replyTTL = answered.ttl
        result.socketMode = engine.socket.mode.rawValue
        result.dscp = spec.options.dscp
        if answered.received > 0 { return run.finish(.ok, "", .icmp(result)) }
        if sendError != 0 {
            return run.finish(
                .failed,
                "icmp: cannot send to \(address.text): \(Datagram.errnoText(sendError))",
                .icmp(result)
            )
        }
        return run.finish(
            .timeout,
            "icmp: no reply from \(address.text) to \(count) echo request(s) within \(spec.schedule.timeout)",
            .icmp(result)
        )
    }
}

/// Name resolution off the cooperative pool (getaddrinfo blocks).
enum Resolver {
    static func resolve(
        host: String,
        family: TestSpec.AddressFamily,
        port: Int = 0
    ) async -> Result<
        SocketAddressBytes, ProbeError
    > {
        let resolution: SocketAddressBytes.Resolution
        do {
            resolution = try await NIOThreadPool.singleton.runIfActive {
                SocketAddressBytes.resolve(host: host, port: port, family: family, type: SOCK_DGRAM)
            }
        } catch {
            return .failure(ProbeError(.unresolvable, "cannot resolve \(host): the agent is shutting down"))
        }
        switch resolution {
        case .success(let addresses):
            guard let first = addresses.first else {
                return .failure(ProbeError(.unresolvable, "\(host) has no address"))
            }
            return .success(first)
        case .failure(let message):
            return .failure(ProbeError(.unresolvable, message))
        }
    }
}
