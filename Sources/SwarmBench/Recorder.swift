import SwarmCore
import Synchronization

/// Latencies and counts from every simulated agent.
final class Recorder: Sendable {
    struct Report {
        var connected = 0
        var stored = 0
        var storedPerSecond = 0.0
        var ackP50 = 0.0
        var ackP99 = 0.0
        var heartbeatP99 = 0.0
        var heartbeats = 0
        var idleRSS = 0
    }
    private struct State {
        var ackLatencies: [Double] = []
        var heartbeatLatencies: [Double] = []
        var stored = 0
        var firstSend: ContinuousClock.Instant?
        var lastAck: ContinuousClock.Instant?
        var idleRSS = 0
        var connected = 0
    }
    private let state = Mutex(State())

    func sent(at instant: ContinuousClock.Instant) {
        state.withLock { state in
            if state.firstSend == nil || instant < state.firstSend.unsafelyUnwrapped { state.firstSend = instant }
        }
    }
    func acked(stored: Int, latency: Duration, at instant: ContinuousClock.Instant) {
        state.withLock { state in
            state.ackLatencies.append(latency.seconds)
            state.stored += stored
            if state.lastAck == nil || instant > state.lastAck.unsafelyUnwrapped { state.lastAck = instant }
        }
    }
    func heartbeat(_ latency: Duration) { state.withLock { $0.heartbeatLatencies.append(latency.seconds) } }
    func setIdle(rss: Int, connected: Int) {
        state.withLock {
            $0.idleRSS = rss
            $0.connected = connected
        }
    }

    func report() -> Report {
        state.withLock { state in
            func percentile(_ values: [Double], _ p: Double) -> Double {
                guard !values.isEmpty else { return 0 }
                let sorted = values.sorted()
                return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
            }
            var report = Report()
            report.connected = state.connected
            report.stored = state.stored
            if let first = state.firstSend, let last = state.lastAck {
                report.storedPerSecond = Double(state.stored) / max((last - first).seconds, 1e-9)
            }
            report.ackP50 = percentile(state.ackLatencies, 0.5)
            report.ackP99 = percentile(state.ackLatencies, 0.99)
            report.heartbeatP99 = percentile(state.heartbeatLatencies, 0.99)
            report.heartbeats = state.heartbeatLatencies.count
            report.idleRSS = state.idleRSS
            return report
        }
    }
}
