import CSwarmProbes
import Foundation
// why: the probe speaks SwarmCore types (ProbeKind, ProbeObservation).
public import SwarmCore
import Synchronization

/// TCP throughput to a swarm bandwidth responder: download, upload or both, over N parallel streams
/// for a fixed duration, with a per-second series and the sender's retransmissions (TCP_INFO).
///
/// Runs on one agent never overlap (`BandwidthLane`): two would each measure half the link.
public struct BandwidthProbe: Probe {
    public static let kind: ProbeKind = .bandwidth

    public init() {}

    public func run(_ context: ProbeContext) async -> ProbeObservation {
        let run = context.start(.bandwidth)
        let spec = context.spec
        guard let key = context.responderKey else {
            return run.finish(.failed, ProbeContext.missingResponderKey(.bandwidth))
        }
        let port = spec.target.port > 0 ? spec.target.port : BandwidthResponder.defaultPort
        let address: SocketAddressBytes
        switch await Resolver.resolve(host: spec.target.host, family: spec.target.family, port: port) {
        case .success(let resolved): address = resolved
        case .failure(let problem): return run.finish(.failed, "bandwidth: \(problem.message)")
        }
        let options = spec.options.bandwidth
        let streams = max(1, min(16, options.streams))
        let duration = min(options.duration, BandwidthResponder.longestTest)

        await BandwidthLane.shared.acquire()
        defer { BandwidthLane.shared.release() }

        var result = BandwidthProbeResult()
        result.peer = address.hostPort(port)
        result.streams = streams
        let directions: [Bool] =
            switch options.direction {
            case .download: [false]
            case .upload: [true]
            case .both: [false, true]
            }
        for clientSends in directions {
            let outcome = await BandwidthRun.measure(
                address: address,
                key: key,
                clientSends: clientSends,
                streams: streams,
                duration: duration,
                dscp: spec.options.dscp,
                binding: (spec.options.sourceAddress, spec.options.interface)
            )
            switch outcome {
            case .failure(let problem):
                return run.finish(.failed, "bandwidth \(result.peer): \(problem.message)", .bandwidth(result))
            case .success(let run):
                if clientSends {
                    result.uploadMbps = run.mbps
                    result.bytesUp = run.bytes
                } else {
                    result.downloadMbps = run.mbps
                    result.bytesDown = run.bytes
                }
                result.retransmits += run.retransmits
                result.duration += run.elapsed
                result.perSecondMbps += run.perSecondMbps
            }
        }
        return run.finish(.ok, "", .bandwidth(result))
    }
}

/// One direction of a bandwidth run over N streams, each on a thread of its own.
enum BandwidthRun {
    struct Failure: Error {
        var message: String
    }

    struct Outcome: Sendable {
        var bytes: UInt64
        var elapsed: Duration
        var mbps: Double
        var retransmits: Int
        var perSecondMbps: [Double]
    }

    static func measure(
        address: SocketAddressBytes,
        key: ResponderKey,
        clientSends: Bool,
        streams: Int,
        duration: Duration,
        dscp: Int,
        binding: (source: String, interface: String) = ("", "")
    ) async -> Result<Outcome, Failure> {
        let series = SecondBins(start: .now)
        let results = await withTaskGroup(of: Result<StreamTotals, Failure>.self) { group in
            for _ in 0..<streams {
                group.addTask {
                    await DedicatedThread.run(name: "bandwidth-stream") {
                        stream(
                            address,
                            key: key,
                            clientSends: clientSends,
                            duration: duration,
                            dscp: dscp,
                            binding: binding,
                            series: series
                        )
                    }
                }
            }
            var all: [Result<StreamTotals, Failure>] = []
            for await result in group { all.append(result) }
            return all
        }
        var bytes: UInt64 = 0
        var elapsed: Duration = .zero
        var retransmits = 0
        for result in results {
            switch result {
            case .failure(let problem): return .failure(problem)
            case .success(let totals):
                bytes += totals.bytes
                elapsed = max(elapsed, totals.elapsed)
                retransmits += totals.retransmits
            }
        }
        let seconds = max(elapsed.seconds, 0.001)
        return .success(
            Outcome(
                bytes: bytes,
                elapsed: elapsed,
                mbps: Double(bytes) * 8 / seconds / 1_000_000,
                retransmits: retransmits,
                perSecondMbps: series.mbps(wholeSeconds: Int(seconds.rounded()))
            )
        )
    }

    struct StreamTotals: Sendable {
        var bytes: UInt64
        var elapsed: Duration
        var retransmits: Int
    }

    /// One stream: connect, hello, move data, read the responder's trailer. Throughput counts what the
    /// receiving side got: for an upload that is the responder's own count.
    static func stream(
        _ address: SocketAddressBytes,
        key: ResponderKey,
        clientSends: Bool,
        duration: Duration,
        dscp: Int,
        binding: (source: String, interface: String),
        series: SecondBins
    ) -> Result<StreamTotals, Failure> {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(Failure(message: "socket(): \(Datagram.errnoText())")) }
        defer { close(fd) }
        if let problem = SocketBinding.apply(
            fd,
            family: address.family,
            source: binding.source,
            interface: binding.interface
        ) {
            return .failure(Failure(message: problem))
        }
        if dscp > 0 { _ = cswarm_set_tos(fd, address.family, Int32(dscp), 0) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if address.withSockaddr({ connect(fd, $0, $1) }) != 0 {
            return .failure(
                Failure(message: "connect: \(Datagram.errnoText()) — is a bandwidth responder running there?")
            )
        }
        var nonce = [UInt8](repeating: 0, count: 16)
        for i in nonce.indices { nonce[i] = .random(in: 0...255) }
        let hello = BandwidthWire.Hello(
            clientSends: clientSends,
            duration: duration,
            nonce: nonce,
            clientTimeNanos: Datagram.realtimeNanos()
        )
        guard StreamIO.writeAll(fd, BandwidthWire.encode(hello, key: key)),
            let answer = StreamIO.readExactly(fd, 1, deadline: .now + .seconds(5)), answer == [BandwidthWire.accepted]
        else {
            return .failure(Failure(message: "the responder refused the test — does it use this swarm's key?"))
        }
        let start = ContinuousClock.now
        let deadline = start + duration + .seconds(30)
        if clientSends {
            guard StreamIO.sendFrames(fd, for: duration, progress: { series.add($0) }) != nil,
                let raw = StreamIO.readExactly(fd, BandwidthWire.Trailer.length, deadline: deadline)
            else { return .failure(Failure(message: "the responder closed the upload early")) }
            let trailer = BandwidthWire.Trailer(raw)
            var info = cswarm_tcp_info()
            _ = cswarm_read_tcp_info(fd, &info)
            return .success(
                StreamTotals(
                    bytes: trailer.bytes,
                    elapsed: .nanoseconds(Int64(trailer.elapsedNanos)),
                    retransmits: Int(info.total_retrans)
                )
            )
        }
        guard let received = StreamIO.receiveFrames(fd, deadline: deadline, progress: { series.add($0) }) else {
            return .failure(Failure(message: "the download stopped before the responder finished"))
        }
        let elapsed = ContinuousClock.now - start
        var trailerBytes = received.leftover
        if trailerBytes.count < BandwidthWire.Trailer.length {
            guard
                let rest = StreamIO.readExactly(
                    fd,
                    BandwidthWire.Trailer.length - trailerBytes.count,
                    deadline: .now + .seconds(5)
                )
            else { return .failure(Failure(message: "no totals from the responder after the download")) }
            trailerBytes += rest
        }
        let trailer = BandwidthWire.Trailer(Array(trailerBytes.prefix(BandwidthWire.Trailer.length)))
        return .success(StreamTotals(bytes: received.bytes, elapsed: elapsed, retransmits: Int(trailer.retransmits)))
    }
}

/// Bytes per elapsed second, summed over all streams.
final class SecondBins: Sendable {
    private let start: ContinuousClock.Instant
    private let bins = Mutex<[UInt64]>([])

    init(start: ContinuousClock.Instant) { self.start = start }

    func add(_ bytes: Int) {
        let second = Int((ContinuousClock.now - start).seconds)
        bins.withLock { bins in
            while bins.count <= second { bins.append(0) }
            bins[second] += UInt64(bytes)
        }
    }

    /// Mbit/s for each whole second (a trailing partial second is left out).
    func mbps(wholeSeconds: Int) -> [Double] {
        bins.withLock { bins in bins.prefix(max(1, wholeSeconds)).map { Double($0) * 8 / 1_000_000 } }
    }
}

/// One bandwidth run at a time on this agent; later runs queue in order.
final class BandwidthLane: Sendable {
    static let shared = BandwidthLane()

    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func acquire() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if !state.busy {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
