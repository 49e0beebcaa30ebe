import SwarmAnalytics
import SwarmCore
import Testing

@Suite struct AlertEvaluationTests {
    @Test("N-of-M with hysteresis: noise around one threshold fires once and clears once")
    func hysteresis() {
        var tracker = AlertTracker(condition: AlertCondition(comparison: .above, raise: 100, clear: 80, n: 3, m: 5))
        // Flapping around 100 before the fault: never 3 bad of 5.
        let calm = [90.0, 105, 95, 101, 90, 99, 95, 85]
        let fault = [150.0, 160, 140, 95, 150, 155]  // one good-looking value inside the fault
        let recovery = [90.0, 85, 99, 78, 75, 70, 76, 72]  // 90..99 are between the levels
        var transitions: [(Int, AlertTracker.Transition)] = []
        for (i, value) in (calm + fault + recovery).enumerated() {
            if let t = tracker.observe(value) { transitions.append((i, t)) }
        }
        #expect(transitions.map(\.1) == [.raised, .cleared])
        #expect(transitions.first?.0 == calm.count + 2)  // the third bad value of the fault
        // Cleared on the third value under 80 (78, 75, 70), not on the values between 80 and 100.
        #expect(transitions.last?.0 == calm.count + fault.count + 5)
        #expect(tracker.state == .ok)
    }

    @Test("'below' conditions (MOS, throughput) and conditions that cannot work say why")
    func belowAndProblems() {
        var mos = AlertTracker(condition: AlertCondition(comparison: .below, raise: 3.6, clear: 4.0, n: 2, m: 3))
        #expect(mos.observe(3.5) == nil)
        #expect(mos.observe(3.4) == .raised)
        #expect(mos.observe(3.9) == nil && mos.observe(4.1) == nil && mos.observe(4.2) == .cleared)
        #expect(
            AlertCondition(comparison: .above, raise: 100, clear: 120).problem?.contains("must not be above") == true
        )
        #expect(
            AlertCondition(comparison: .below, raise: 3.6, clear: 3.0).problem?.contains("must not be below") == true
        )
        #expect(
            AlertCondition(comparison: .above, raise: 1, clear: 0, n: 6, m: 5).problem?.hasPrefix("need 1 ≤ n ≤ m")
                == true
        )
        #expect(AlertCondition(comparison: .above, raise: 1, clear: 0).problem == nil)
        var ignoresNaN = AlertTracker(condition: AlertCondition(comparison: .above, raise: 1, clear: 0, n: 1, m: 1))
        #expect(ignoresNaN.observe(.nan) == nil && ignoresNaN.state == .ok)
    }

    @Test("silences match by rule, test and agent until they end")
    func silences() {
        let silence = AlertSilence(rule: "latency", test: 7, untilUnixNanos: 1000)
        #expect(silence.covers(rule: "latency", test: 7, agent: "a", atUnixNanos: 999))
        #expect(!silence.covers(rule: "latency", test: 7, agent: "a", atUnixNanos: 1000))
        #expect(!silence.covers(rule: "loss", test: 7, agent: "a", atUnixNanos: 1))
        #expect(!silence.covers(rule: "latency", test: 8, agent: "a", atUnixNanos: 1))
        #expect(AlertSilence(untilUnixNanos: 10).covers(rule: "any", test: nil, agent: "b", atUnixNanos: 5))
    }
}
