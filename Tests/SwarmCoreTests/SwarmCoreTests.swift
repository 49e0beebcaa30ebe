import SwarmCore
import Testing

@Suite struct AgentNameTests {
    @Test(
        "names follow the provisioning script's rule",
        arguments: [
            ("edge-1", true), ("a", true), ("A.b_c-9", true), (String(repeating: "x", count: 63), true),
            ("", false), ("-lead", false), (".hidden", false), ("has space", false), ("slash/name", false),
            (String(repeating: "x", count: 64), false), ("ünï", false),
        ]
    )
    func validity(name: String, valid: Bool) {
        #expect((AgentName(name) != nil) == valid)
    }
}

@Suite struct BackoffTests {
    @Test("each wait is within the doubling ceiling, capped, and reset starts over")
    func fullJitter() {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        var generator = SystemRandomNumberGenerator()
        let expectedCeilings: [Duration] = [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
        ]
        for ceiling in expectedCeilings {
            #expect(backoff.ceiling == ceiling)
            let wait = backoff.next(using: &generator)
            #expect(wait >= .zero && wait <= ceiling)
        }
        backoff.reset()
        #expect(backoff.ceiling == .milliseconds(100))
    }

    @Test("waits are spread, not all at the ceiling (full jitter)")
    func spread() {
        var backoff = Backoff(base: .seconds(1), cap: .seconds(1))
        let waits = (0..<200).map { _ in backoff.next() }
        #expect(waits.contains { $0 < .milliseconds(500) })
        #expect(waits.contains { $0 > .milliseconds(500) })
    }

    @Test("a huge attempt count does not overflow")
    func overflow() {
        var backoff = Backoff(base: .seconds(30), cap: .seconds(60))
        for _ in 0..<100 { _ = backoff.next() }
        #expect(backoff.ceiling == .seconds(60))
    }
}

@Suite struct TimestampTests {
    @Test("ISO 8601 in UTC with milliseconds, also before the epoch")
    func iso() {
        #expect(Timestamp(unixNanos: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(unixNanos: 1_795_368_600_123_456_789).iso8601 == "2026-11-22T17:30:00.123Z")
        #expect(Timestamp(unixNanos: -1_000_000).iso8601 == "1969-12-31T23:59:59.999Z")
    }
}

@Suite struct TestSpecTests {
    @Test(
        "specs that cannot run are refused with what is accepted",
        arguments: [
            (TestSpec(name: "t", probes: []), "at least one probe"),
            (TestSpec(name: "t", probes: [.tcp], target: .init(host: "h")), "host and port"),
            (TestSpec(name: "t", probes: [.icmp]), "needs a target host"),
            (TestSpec(name: "t", probes: [.system], options: .init(dscp: 64)), "0...63"),
            (TestSpec(name: "t", probes: [.system], schedule: .init(interval: .milliseconds(10))), "100 ms minimum"),
            (TestSpec(name: "t", probes: [.system], schedule: .init(count: 0)), "1...100000"),
        ]
    )
    func invalid(spec: TestSpec, fragment: String) {
        let error = #expect(throws: SpecError.self) { try spec.validate() }
        #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
    }

    @Test("a plain system test and a tcp test with host and port are valid")
    func valid() throws {
        try TestSpec(name: "s", probes: [.system]).validate()
        try TestSpec(name: "t", probes: [.tcp], target: .init(host: "192.0.2.1", port: 443)).validate()
    }
}

@Suite struct ProbeFigureTests {
    @Test("RTT summary: ping's mdev, interpolated percentiles, RFC 3550 jitter in send order")
    func rttSummary() {
        let summary = RTTSummary(rtts: [10, 12, 11, 15].map { Duration.milliseconds($0) })
        #expect(summary.min == .milliseconds(10) && summary.max == .milliseconds(15))
        #expect(abs(summary.avg!.microseconds - 12_000) < 0.001)
        // Population standard deviation, as iputils ping reports mdev.
        #expect(abs(summary.mdev!.microseconds - 1870.828) < 0.01)
        #expect(abs(summary.p50!.microseconds - 11_500) < 0.001)
        // |12-10| + |11-12| + |15-11| = 7 over 3 differences.
        #expect(abs(summary.jitter!.microseconds - 7000.0 / 3) < 0.01)
        #expect(RTTSummary(rtts: []).avg == nil)
    }

    @Test("E-model: a clean G.711 call is R 93.2 / MOS 4.41; loss and long delay lower it")
    func eModel() {
        let clean = EModel.quality(oneWayDelay: .milliseconds(10), jitter: .zero, lossPercent: 0)
        #expect(abs(clean.rFactor - 93.2) < 0.001)
        #expect(abs(clean.mos - 4.41) < 0.01)
        let lossy = EModel.quality(oneWayDelay: .milliseconds(10), jitter: .zero, lossPercent: 5)
        #expect(lossy.rFactor < 80 && lossy.mos < clean.mos)
        let far = EModel.quality(oneWayDelay: .milliseconds(300), jitter: .zero, lossPercent: 0)
        #expect(far.rFactor < 80)
        #expect(EModel.mos(rFactor: 0) == 1 && EModel.mos(rFactor: 100) == 4.5)
    }

    @Test("path fingerprints are stable and change with the path")
    func fingerprint() {
        var one = TracerouteHop(ttl: 1)
        one.address = "10.0.0.1"
        var two = TracerouteHop(ttl: 2)
        two.address = "10.0.0.2"
        let silent = TracerouteHop(ttl: 2)
        let a = TracerouteProbeResult.fingerprint(of: [one, two])
        #expect(a == TracerouteProbeResult.fingerprint(of: [one, two]))
        #expect(a.count == 16)
        #expect(a != TracerouteProbeResult.fingerprint(of: [one, silent]))
    }

    @Test("responder keys read from hex and refuse short or malformed keys")
    func responderKey() {
        let key = ResponderKey.random()
        #expect(ResponderKey(hex: key.hex) == key)
        #expect(ResponderKey(hex: "  " + key.hex + "\n") == key)
        #expect(ResponderKey(hex: "abcd") == nil)
        #expect(ResponderKey(hex: String(repeating: "zz", count: 32)) == nil)
    }
}
