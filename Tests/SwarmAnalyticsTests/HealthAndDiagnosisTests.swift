import SwarmAnalytics
import Testing

@Suite struct HealthAndDiagnosisTests {
    @Test("health: G.114 delay, loss, MOS and certificate limits decide the state; every factor is listed")
    func health() {
        var input = HealthInput()
        input.rttMs = 40
        input.lossPercent = 0
        input.failureFraction = 0
        let fine = HealthModel.assess(input)
        #expect(fine.state == .healthy && fine.score == 100 && fine.factors.count == 3)

        input.rttMs = 500  // 250 ms one way: over G.114's 150
        input.lossPercent = 2
        let worse = HealthModel.assess(input)
        #expect(worse.state == .degraded && worse.score == 60)
        #expect(worse.factors.first { $0.name == "one_way_delay_ms" }?.value == 250)

        input.lossPercent = 12
        input.certificateDaysLeft = 3
        input.mos = 3.1
        let failing = HealthModel.assess(input)
        #expect(failing.state == .failing)
        #expect(failing.factors.prefix(3).allSatisfy { $0.state == .failing })
        #expect(failing.score == 0)

        var silent = HealthInput()
        silent.runs = 0
        let nothing = HealthModel.assess(silent)
        #expect(nothing.state == .failing && nothing.score == 50 && nothing.factors.map(\.name) == ["runs_in_window"])

        let swarm = HealthModel.aggregate([("a", fine), ("b", worse)])
        #expect(swarm.state == .degraded && swarm.score == 80)
        #expect(swarm.factors.map(\.name).sorted() == ["b: loss_percent", "b: one_way_delay_ms"])
    }

    @Test("diagnosis: a new path ranks first with the hops as evidence")
    func pathChange() {
        var input = Diagnosis.Input(
            agent: "a",
            headline: .init(before: Array(repeating: 20, count: 10), during: Array(repeating: 45, count: 5)),
            unit: "ms"
        )
        input.pathsBefore = Array(repeating: "10.0.0.1>10.1.0.1>10.2.0.2", count: 6)
        input.pathsDuring = Array(repeating: "10.0.0.1>10.9.0.1>10.2.0.2", count: 3)
        input.agents = [
            "a": input.headline, "b": .init(before: [20, 21, 20], during: [20, 21, 21]),
        ]
        let causes = Diagnosis.rank(input)
        #expect(causes.first?.kind == .pathChange, "\(causes)")
        #expect(causes.first?.evidence.contains("during: 10.0.0.1>10.9.0.1>10.2.0.2") == true)
        #expect(causes.contains { $0.kind == .localToAgent })
        // Few traceroutes on the new path yet (early detection): still the explanation of "only a".
        input.pathsDuring = ["10.0.0.1>10.9.0.1>10.2.0.2", "10.0.0.1>10.1.0.1>10.2.0.2", "10.0.0.1>10.1.0.1>10.2.0.2"]
        let early = Diagnosis.rank(input)
        #expect(early.map(\.kind).prefix(2) == [.pathChange, .localToAgent], "\(early)")
    }

    @Test("diagnosis: a host as busy before as during explains no change; one that became busy does")
    func hostBusyBefore() {
        var input = Diagnosis.Input(
            agent: "a",
            headline: .init(before: Array(repeating: 1, count: 10), during: Array(repeating: 40, count: 5)),
            unit: "ms"
        )
        input.host["cpu_percent"] = .init(before: [99.8, 99.9, 99.7], during: [99.9, 99.8])
        #expect(!Diagnosis.rank(input).contains { $0.kind == .hostSaturation })
        input.host["cpu_percent"] = .init(before: [30, 35, 32], during: [97, 99])
        #expect(Diagnosis.rank(input).first?.kind == .hostSaturation)
    }

    @Test("diagnosis: hops that did not answer are no new path (lost probes on a saturated link)")
    func unansweredHops() {
        var input = Diagnosis.Input(
            agent: "a",
            headline: .init(before: Array(repeating: 20, count: 10), during: Array(repeating: 400, count: 5)),
            unit: "ms"
        )
        input.pathsBefore = Array(repeating: "10.0.0.1>10.1.0.1>10.2.0.2", count: 6)
        input.pathsDuring = ["10.0.0.1>*>10.2.0.2", "*>*>10.2.0.2", "10.0.0.1>10.1.0.1>*", "10.0.0.1>*>*>10.2.0.2"]
        #expect(!Diagnosis.rank(input).contains { $0.kind == .pathChange })
        input.pathsDuring.append("10.0.0.1>*>10.3.0.3")
        #expect(Diagnosis.rank(input).first?.kind == .pathChange)
        // An old lossy run in the history does not hide a new hop, and a shorter path is a new one.
        input.pathsBefore.append("10.0.0.1>*>10.2.0.2")
        input.pathsDuring = ["10.0.0.1>10.9.0.1>10.2.0.2"]
        #expect(Diagnosis.rank(input).first?.kind == .pathChange)
        input.pathsDuring = ["10.0.0.1>10.2.0.2"]
        #expect(Diagnosis.rank(input).first?.kind == .pathChange)
    }

    @Test("diagnosis: the phase that grew, with its share of the growth; a saturated link on a device")
    func phasesAndDevices() {
        var input = Diagnosis.Input(
            agent: "a",
            headline: .init(before: [100, 102, 99], during: [180, 182, 179]),
            unit: "ms"
        )
        input.phases = [
            "dns": .init(before: [5, 5, 5], during: [5, 6, 5]),
            "connect": .init(before: [20, 20, 21], during: [22, 21, 22]),
            "tls": .init(before: [40, 41, 40], during: [115, 118, 116]),
        ]
        let causes = Diagnosis.rank(input)
        #expect(causes.first?.kind == .phase)
        #expect(causes.first?.title == "the tls phase grew")
        #expect(causes.first?.evidence.first?.hasPrefix("tls 40 → 116 ms (+76 ms") == true, "\(causes)")

        input.phases = [:]
        input.devices = [
            .init(
                device: "r1 eth1",
                figure: "utilisation_percent",
                window: .init(before: [30, 35], during: [97, 98])
            ),
            .init(
                device: "r2 eth0",
                figure: "utilisation_percent",
                window: .init(before: [30, 35], during: [40, 41])
            ),
        ]
        let device = Diagnosis.rank(input)
        #expect(device.count == 1 && device.first?.kind == .device)
        #expect(device.first?.evidence == ["r1 eth1 utilisation_percent 32.5 → 97.5 (gNMI)"])
    }

    @Test("diagnosis: every agent worse is shared; nothing unusual gives no cause")
    func sharedAndNothing() {
        var input = Diagnosis.Input(agent: "a", headline: .init(before: [10], during: [30]), unit: "ms")
        input.agents = [
            "a": .init(before: [10], during: [30]), "b": .init(before: [10], during: [25]),
            "c": .init(before: [10], during: [10]),
        ]
        #expect(Diagnosis.rank(input).first?.kind == .shared)
        var calm = Diagnosis.Input(agent: "a", headline: .init(before: [10, 10], during: [10, 11]), unit: "ms")
        calm.agents = ["a": calm.headline, "b": .init(before: [10], during: [10])]
        calm.host = ["cpu_percent": .init(before: [20], during: [25])]
        #expect(Diagnosis.rank(calm).isEmpty)
    }

    @Test("diagnosis: loss on one agent alone is local though its latency did not move")
    func lossLocal() {
        let steady = Diagnosis.Window(before: [20, 20.5, 19.8], during: [20.2, 20.1])
        var input = Diagnosis.Input(agent: "a", headline: steady, unit: "ms")
        input.agents = ["a": steady, "b": .init(before: [5, 5.1], during: [5, 5])]
        input.agentLoss = ["a": .init(before: [0, 0, 0], during: [60, 40, 40]), "b": .init(before: [0], during: [0])]
        let causes = Diagnosis.rank(input)
        #expect(causes.first?.kind == .localToAgent, "\(causes)")
        #expect(causes.first?.evidence == ["loss on a 0 → 40 %; the other 1 agent(s) moved by 0 % at most"])
        // Both lossy: shared.
        input.agentLoss["b"] = .init(before: [0], during: [30])
        #expect(Diagnosis.rank(input).first?.kind == .shared)
        // A point of loss is no cause.
        input.agentLoss = ["a": .init(before: [0], during: [1]), "b": .init(before: [0], during: [0])]
        #expect(Diagnosis.rank(input).isEmpty)
    }

    @Test("diagnosis: a sub-millisecond round trip moving by half is not an agent getting worse")
    func subMillisecondFloor() {
        let delayed = Diagnosis.Window(before: [0.4, 0.45, 0.42], during: [40.4, 40.6])
        var input = Diagnosis.Input(agent: "a", headline: delayed, unit: "ms")
        // b sits next to the target: 0.05 ms → 0.08 ms on a loaded host.
        input.agents = ["a": delayed, "b": .init(before: [0.05, 0.05], during: [0.08, 0.08])]
        let causes = Diagnosis.rank(input)
        #expect(causes.first?.kind == .localToAgent, "\(causes)")
        #expect(causes.first?.evidence == ["median on a 0.42 → 40.5 ms; the other 1 agent(s) moved by 0.03 ms at most"])
    }
}
