import ArgumentParser
import Foundation
import SwarmCore
import SwarmProbes
import Synchronization

/// `streamswarm bench icmp`: does one agent keep many ICMP targets at one probe per second without
/// its RTTs drifting? The RTT to one fixed target is measured first alone (the baseline), then while
/// the same process probes `--targets` addresses at 1/s each, through the agent's own icmp probe.
struct ICMPBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icmp",
        abstract: "RTT to a fixed target alone vs. while probing N targets at 1/s each (run inside the lab).",
        discussion: "scripts/bench.sh runs this inside a netlab namespace pinned to one core with taskset."
    )

    @Option(help: "The fixed-delay target whose RTT is compared.") var fixed: String
    @Option(help: "First address of the load targets (consecutive IPv4 addresses).") var firstTarget: String
    @Option(help: "Number of targets probed at once in the loaded phase (the fixed one included).")
    var targets: Int = 1000
    @Option(help: "Seconds per phase.") var seconds: Int = 30

    func run() async throws {
        guard let first = IPv4(firstTarget) else { throw ValidationError("--first-target \(firstTarget) is not IPv4") }
        print("== baseline: \(fixed) alone at 1 probe/s for \(seconds) s")
        let alone = try await phase(addresses: [fixed])
        let load = [fixed] + (0..<(targets - 1)).map { first.advanced(by: $0).text }
        print("== loaded: \(fixed) plus \(targets - 1) more targets, each at 1 probe/s, for \(seconds) s")
        let cpuLoadStart = ProcessCPU.seconds()
        let loaded = try await phase(addresses: load)
        let cpuLoaded = (ProcessCPU.seconds() - cpuLoadStart) / Double(seconds)

        let aloneMedian = RTTSummary.percentile(alone.fixed.sorted(), 0.5)
        let loadedMedian = RTTSummary.percentile(loaded.fixed.sorted(), 0.5)
        let drift = (loadedMedian - aloneMedian) / 1000
        print(
            String(
                format: """
                    result: fixed-target median RTT %.3f ms alone (%d replies), %.3f ms under %d targets (%d replies)
                            drift %+.3f ms (target: within ±0.5 ms), ratio loaded/alone %.4f
                            load phase: %d probes sent, %d replies (%.2f%% lost), process CPU %.0f%% of one core
                    """,
                aloneMedian / 1000,
                alone.fixed.count,
                loadedMedian / 1000,
                targets,
                loaded.fixed.count,
                drift,
                loadedMedian / max(1, aloneMedian),
                loaded.sent,
                loaded.received,
                loaded.sent == 0 ? 0 : Double(loaded.sent - loaded.received) / Double(loaded.sent) * 100,
                cpuLoaded * 100
            )
        )
        if abs(drift) > 0.5 { throw ExitCode(1) }
    }

    struct PhaseResult {
        var fixed: [Double]
        var sent: Int
        var received: Int
    }

    /// Every address gets one echo request per second (random start offset, like the agent's runner)
    /// for `seconds`; returns the fixed target's RTTs in µs and the totals.
    func phase(addresses: [String]) async throws -> PhaseResult {
        let tally = PhaseTally()
        let end = ContinuousClock.now + .seconds(seconds)
        let fixedTarget = fixed
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
        return PhaseResult(fixed: tally.fixedRTTs.withLock { $0 }, sent: counted.sent, received: counted.received)
    }
}

/// What the probing tasks of one phase collect.
final class PhaseTally: Sendable {
    let fixedRTTs = Mutex<[Double]>([])
    let totals = Mutex((sent: 0, received: 0))
}

/// A dotted-quad IPv4 address that can be counted up.
struct IPv4 {
    var value: UInt32

    init?(_ text: String) {
        let parts = text.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 < 256 }) else { return nil }
        value = parts.reduce(0) { $0 << 8 | $1 }
    }

    private init(value: UInt32) { self.value = value }

    func advanced(by n: Int) -> IPv4 { IPv4(value: value &+ UInt32(n)) }

    var text: String { [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".") }
}

/// CPU time (user + system) this process has used, in seconds.
enum ProcessCPU {
    static func seconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
    }
}
