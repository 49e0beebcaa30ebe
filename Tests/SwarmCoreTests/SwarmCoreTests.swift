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
