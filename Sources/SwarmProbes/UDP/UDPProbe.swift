import CSwarmProbes
import Foundation
// why: the probe speaks SwarmCore types (ProbeKind, ProbeObservation).
public import SwarmCore

/// A paced UDP stream to a swarm responder (the server's or another agent's): loss, duplicates,
/// reordering, RTT and RFC 3550 jitter, the DSCP/ECN the responder saw (remarking on the path), and
/// in voice mode the G.107 E-model over a 20 ms G.711-sized stream.
///
/// Every packet carries the swarm's HMAC tag; without the key the run says so instead of sending.
public struct UDPProbe: Probe {
    public static let kind: ProbeKind = .udp

    public init() {}

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let run = context.start(.udp)
        let spec = context.spec
        guard let key = context.responderKey else {
            return run.finish(.failed, ProbeContext.missingResponderKey(.udp))
        }
        let port = spec.target.port > 0 ? spec.target.port : UDPEchoResponder.defaultPort
        let address: SocketAddressBytes
        switch await Resolver.resolve(host: spec.target.host, family: spec.target.family, port: port) {
        case .success(let resolved): address = resolved
        case .failure(let problem): return run.finish(.failed, "udp: \(problem.message)")
        }
        let plan = UDPStreamPlan(spec: spec)
        let outcome = await DedicatedThread.run(name: "udp-probe") {
            UDPStream.measure(to: address, plan: plan, key: key)
        }
        switch outcome {
        case .failure(let problem):
            return run.finish(.failed, "udp \(address.text):\(port): \(problem.message)")
        case .success(var result):
            result.address = address.hostPort(port)
            if result.tally.received == 0 {
                return run.finish(
                    .timeout,
                    "udp: no reply from the responder at \(address.text):\(port) to \(result.tally.sent) packets — "
                        + "is a responder running there, reachable, and using this swarm's key?",
                    .udp(result)
                )
            }
            return run.finish(.ok, "", .udp(result))
        }
    }
}

/// What to send: how many packets, how far apart, how big.
struct UDPStreamPlan: Sendable {
    var packets: Int
    var gap: Duration
    var size: Int
    var dscp: Int
    var ecn: Int
    var voice: Bool
    var replyWait: Duration
    var source: String
    var interface: String

    init(spec: TestSpec) {
        let o = spec.options.udp
        voice = o.voice
        // why: voice mode is one G.711 frame every 20 ms: 160 bytes of audio + 12 of RTP header.
        gap = voice ? .milliseconds(20) : .nanoseconds(1_000_000_000 / Int64(max(1, o.packetsPerSecond)))
        let fromDuration = Int(o.duration.nanoseconds / max(1, gap.nanoseconds))
        packets = max(1, fromDuration)
        size = voice ? 172 : max(UDPEchoPacket.minimumLength, spec.options.packetSize)
        dscp = spec.options.dscp
        ecn = o.ecn
        replyWait = min(spec.schedule.timeout, .seconds(2))
        source = spec.options.sourceAddress
        interface = spec.options.interface
    }
}

enum UDPStream {
    struct Failure: Error {
        var message: String
    }

    /// Sends the paced stream and collects replies on this (dedicated) thread.
    static func measure(
        to address: SocketAddressBytes,
        plan: UDPStreamPlan,
        key: ResponderKey
    ) -> Result<
        UDPProbeResult, Failure
    > {
        let fd = socket(address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(Failure(message: "socket(): \(Datagram.errnoText())")) }
        defer { close(fd) }
        _ = cswarm_enable_receive_info(fd, address.family, 0)
        if let problem = SocketBinding.apply(fd, family: address.family, source: plan.source, interface: plan.interface)
        {
            return .failure(Failure(message: problem))
        }
        if plan.dscp > 0 || plan.ecn > 0, cswarm_set_tos(fd, address.family, Int32(plan.dscp), Int32(plan.ecn)) != 0 {
            return .failure(Failure(message: "cannot set DSCP \(plan.dscp) / ECN \(plan.ecn): \(Datagram.errnoText())"))
        }
        if address.withSockaddr({ connect(fd, $0, $1) }) != 0 {
            return .failure(Failure(message: "connect(): \(Datagram.errnoText())"))
        }
        let session = UInt64.random(in: 1...UInt64.max)
        var rtts = [Duration?](repeating: nil, count: plan.packets)
        var sendTimes = [Int64](repeating: 0, count: plan.packets)
        var tally = SequenceTally()
        var highest = -1
        var tosSeen: UInt8?
        var ceMarks = 0
        var sendError: Int32 = 0

        func drain() {
            while let datagram = Datagram.receive(fd, flags: Int32(MSG_DONTWAIT), capacity: 2048) {
                let receivedAt = datagram.kernelTime ?? Datagram.realtimeNanos()
                guard ResponderAuth.verify(datagram.bytes, key: key), let reply = UDPEchoPacket.decode(datagram.bytes),
                    reply.kind == .reply, reply.session == session, Int(reply.sequence) < plan.packets
                else { continue }
                let index = Int(reply.sequence)
                if rtts[index] != nil {
                    tally.duplicates += 1
                    continue
                }
                // why: our own send time (taken just before send()) minus the responder's turnaround,
                // so neither side's HMAC work counts as network time.
                let sentAt = sendTimes[index] != 0 ? sendTimes[index] : reply.sentAtNanos
                rtts[index] = .nanoseconds(max(0, receivedAt - sentAt - Int64(reply.turnaroundNanos)))
                tally.received += 1
                if index < highest { tally.reordered += 1 }
                highest = max(highest, index)
                if let tos = reply.tosSeen {
                    tosSeen = tos
                    if tos & 3 == 3 { ceMarks += 1 }
                }
            }
        }

        let clock = ContinuousClock()
        let start = clock.now
        for index in 0..<plan.packets {
            let due = start + plan.gap * index
            while clock.now < due {
                if Datagram.waitReadable(fd, timeout: due - clock.now) { drain() }
            }
            let packet = UDPEchoPacket(
                kind: .request,
                session: session,
                sequence: UInt32(index),
                sentAtNanos: Datagram.realtimeNanos(),
                tosSeen: nil
            )
            let bytes = packet.encode(length: plan.size, key: key)
            sendTimes[index] = Datagram.realtimeNanos()
            if bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) < 0 {
                // why: ECONNREFUSED here is the ICMP port-unreachable of an earlier packet: nobody listens.
                sendError = errno
            }
            tally.sent += 1
        }
        let waitUntil = clock.now + plan.replyWait
        while tally.received < tally.sent, clock.now < waitUntil {
            if Datagram.waitReadable(fd, timeout: waitUntil - clock.now) { drain() }
        }
        if tally.received == 0 && sendError != 0 {
            return .failure(Failure(message: "\(Datagram.errnoText(sendError)) — is a responder running there?"))
        }

        var result = UDPProbeResult()
        result.tally = tally
        let measured = rtts.compactMap { $0 }
        result.rtt = RTTSummary(rtts: measured)
        result.dscpSent = plan.dscp
        result.ecnSent = plan.ecn
        result.dscpReceived = tosSeen.map { Int($0 >> 2) }
        result.ecnReceived = tosSeen.map { Int($0 & 3) }
        result.ceMarks = ceMarks
        if plan.voice, let avg = result.rtt.avg {
            result.voice = EModel.quality(
                oneWayDelay: avg / 2,
                jitter: result.rtt.jitter ?? .zero,
                lossPercent: tally.lossPercent
            )
        }
        return .success(result)
    }
}
