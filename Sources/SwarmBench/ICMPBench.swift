import SwarmCore
import SwarmProbes
import Synchronization

/// Does one agent keep many ICMP targets at one probe per second without its RTTs drifting? The
/// RTT to one fixed target is measured first alone (the baseline), then while the same process
/// probes `targets` addresses at 1/s each, through the agent's own icmp probe.
public struct ICMPBench: Sendable {
    public struct Configuration: Sendable {
        /// The fixed-delay target whose RTT is compared.
        public var fixed: String
        /// First address of the load targets (consecutive IPv4 addresses).
        public var firstTarget: IPv4
        /// Targets probed at once in the loaded phase, the fixed one included. Defaults to 1,000.
        public var targets: Int = 1000
        /// Seconds per phase. Defaults to 30.
        public var seconds: Int = 30

        public init(fixed: String, firstTarget: IPv4) {
            self.fixed = fixed
            self.firstTarget = firstTarget
        }
    }

    /// One phase: the fixed target's RTTs (µs) and every probe's totals.
    public struct Phase: Sendable {
        public var fixedRTTMicros: [Double]
        public var sent: Int
        public var received: Int

        public var fixedMedianMicros: Double { RTTSummary.percentile(fixedRTTMicros.sorted(), 0.5) }
    }

    public struct Report: Sendable {
        public var alone: Phase
        public var loaded: Phase
        /// Process CPU over the loaded phase, as a fraction of one core.
        public var loadedCPU: Double
        /// Loaded minus alone fixed-target median, in milliseconds.
        public var driftMs: Double { (loaded.fixedMedianMicros - alone.fixedMedianMicros) / 1000 }
    }

    public var configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    /// Runs both phases; `progress` gets a line as each starts.
    public func run(progress: @Sendable (String) -> Void) async -> Report {
        let c = configuration
        progress("== baseline: \(c.fixed) alone at 1 probe/s for \(c.seconds) s")
        let alone = await phase(addresses: [c.fixed])
        let load = [c.fixed] + (0..<(c.targets - 1)).map { c.firstTarget.advanced(by: $0).text }
        progress("== loaded: \(c.fixed) plus \(c.targets - 1) more targets, each at 1 probe/s, for \(c.seconds) s")
        let cpuLoadStart = ProcessCPU.seconds()
        let loaded = await phase(addresses: load)
        let cpuLoaded = (ProcessCPU.seconds() - cpuLoadStart) / Double(c.seconds)
        return Report(alone: alone, loaded: loaded, loadedCPU: cpuLoaded)
    }

    /// Every address gets one echo request per second (random start offset, like the agent's runner)
    /// for `seconds`; returns the fixed target's RTTs in µs and the totals.
    func phase(addresses: [String]) async -> Phase {
        let tally = PhaseTally()
        let end = ContinuousClock.now + .seconds(configuration.seconds)
        let fixedTarget = configuration.fixed
        await withTaskGroup(of: Void.self) { group in
            for address in addresses {
                group.addTask {
                    let probe = ICMPProbe()
                    var spec = TestSpec(name: "bench", probes: [.icmp], target: .init(host: address))
                    spec.schedule.count = 1
                    spec.schedule.timeout = .seconds(1)
                    let context = ProbeContext(testID: TestID(0), revision: 0, spec: spec)
                    var next = ContinuousClock.now + .nanoseconds(Int64.random(in: 0..<1_000_000_000))
                    while next < end {
                        try? await Task.sleep(until: next)
                        next = next + .seconds(1)
                        let observation = await probe.run(context)
                        guard case .icmp(let result)? = observation.result else { continue }
                        tally.totals.withLock {
                            $0.sent += result.tally.sent
                            $0.received += result.tally.received
                        }
                        if address == fixedTarget, let rtt = result.rtts.first ?? nil {
                            tally.fixedRTTs.withLock { $0.append(rtt.microseconds) }
                        }
                    }
                }
            }
        }
        let counted = tally.totals.withLock { $0 }
        return Phase(fixedRTTMicros: tally.fixedRTTs.withLock { $0 }, sent: counted.sent, received: counted.received)
    }
}

/// What the probing tasks of one phase collect.
final class PhaseTally: Sendable {
    let fixedRTTs = Mutex<[Double]>([])
    let totals = Mutex((sent: 0, received: 0))
}
