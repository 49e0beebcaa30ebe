import ServiceLifecycle
import SwarmCore
import SwarmStore
import Testing

// ChangeFeed: what each mutation publishes, and that changes cross to other handles (processes).
extension StoreConformance {
    static let changeContracts: [Contract] = [
        Contract("changes: agent sessions, going offline, revoke and delete publish agentChanged") {
            let store = $0.store
            try await ChangeRecorder.recording(store.changes) { recorder in
                try await connect(store, alpha, session: "s")
                #expect(await recorder.sees(.agentChanged(alpha)), "session start")
                try await store.markOffline(alpha, sessionID: "s", at: .now())
                #expect(await eventually { recorder.count(.agentChanged(alpha)) >= 2 }, "offline")
                _ = try await store.revokeAgent(alpha, at: .now())
                #expect(await eventually { recorder.count(.agentChanged(alpha)) >= 3 }, "revoke")
                try await store.deleteAgent(alpha)
                #expect(await eventually { recorder.count(.agentChanged(alpha)) >= 4 }, "delete")
            }
        },
        Contract("changes: every test mutation publishes assignmentsChanged with the agents it affects") {
            let store = $0.store
            try await ChangeRecorder.recording(store.changes) { recorder in
                var parentSpec = spec("a")
                parentSpec.recurrence = .init(mode: .new, interval: .seconds(60))
                let test = try await store.createTest(parentSpec, agents: [alpha])
                #expect(await recorder.sees(.assignmentsChanged(test: test.id, agents: [alpha])), "create")
                _ = try await store.reviseTest(test.id, spec: spec("b"))
                #expect(await eventually { recorder.count(.assignmentsChanged(test: test.id, agents: [alpha])) >= 2 })
                // Reassigning tells both the agents that stop and those that start.
                _ = try await store.reassignTest(test.id, agents: [beta])
                #expect(await recorder.sees(.assignmentsChanged(test: test.id, agents: [alpha, beta])), "reassign")
                _ = try await store.cancelTest(test.id)
                #expect(await recorder.sees(.assignmentsChanged(test: test.id, agents: [beta])), "cancel")
                _ = try await store.restartTest(test.id, spec: spec("c"))
                #expect(await eventually { recorder.count(.assignmentsChanged(test: test.id, agents: [beta])) >= 2 })
                let child = try await store.createChildTest(spec("a #1"), parent: test.id, occurrence: 1)
                #expect(await recorder.sees(.assignmentsChanged(test: child.id, agents: [beta])), "child")
                _ = try await store.deleteTests([child.id])
                #expect(await eventually { recorder.count(.assignmentsChanged(test: child.id, agents: [beta])) >= 2 })
            }
        },
        Contract("changes: a commit publishes measurementsStored once per (test, agent) with the count stored") {
            let store = $0.store
            try await connect(store, alpha)
            try await connect(store, beta, session: "s2")
            let test = try await store.createTest(spec("t"), agents: [alpha, beta])
            try await ChangeRecorder.recording(store.changes) { recorder in
                _ = try await store.commitBatches([
                    batch(alpha, 1, [measurement(test.id, alpha, sequence: 1, at: 1)]),
                    batch(
                        alpha,
                        2,
                        [
                            measurement(test.id, alpha, sequence: 2, at: 2),
                            measurement(test.id, alpha, sequence: 3, at: 3),
                        ]
                    ),
                    batch(beta, 1, [measurement(test.id, beta, sequence: 1, at: 1)]),
                ])
                #expect(await recorder.sees(.measurementsStored(test: test.id, agent: alpha, count: 3)))
                #expect(await recorder.sees(.measurementsStored(test: test.id, agent: beta, count: 1)))
                // A replay stores nothing and says nothing.
                _ = try await store.commitBatches([batch(beta, 1, [measurement(test.id, beta, sequence: 1, at: 1)])])
                try await connect(store, gamma)  // a later change, to know the replay's would have arrived
                #expect(await recorder.sees(.agentChanged(gamma)))
                let stored = recorder.changes.filter {
                    if case .measurementsStored = $0 { return true }
                    return false
                }
                #expect(stored.count == 2)
            }
        },
        Contract("changes: what a second handle writes reaches the first handle's feed while its run() goes, once each")
        {
            let first = $0.store
            let second = try await $0.openAnother()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await first.run() }
                defer { group.cancelAll() }
                try await ChangeRecorder.recording(first.changes) { recorder in
                    // Given: a change of the first handle's own, published in-process.
                    try await connect(first, gamma)
                    #expect(await recorder.sees(.agentChanged(gamma)))
                    // When: the other handle (another process) creates, revokes and stores.
                    try await connect(second, alpha, session: "s")
                    let test = try await second.createTest(spec("t"), agents: [alpha, beta])
                    _ = try await second.revokeAgent(alpha, at: .now())
                    _ = try await second.commitBatches([
                        batch(alpha, 1, [measurement(test.id, alpha, sequence: 1, at: 1)])
                    ])
                    // Then: the first handle's subscribers hear each of them.
                    #expect(await recorder.sees(.assignmentsChanged(test: test.id, agents: [alpha, beta])))
                    #expect(await recorder.sees(.measurementsStored(test: test.id, agent: alpha, count: 1)))
                    #expect(recorder.count(.agentChanged(alpha)) == 2, "session start and revoke")
                    // The feed read past its own change without publishing it again.
                    #expect(recorder.count(.agentChanged(gamma)) == 1)
                    // And the data itself is the same through either handle.
                    #expect(try await first.agent(alpha)?.revokedAt != nil)
                }
            }
        },
    ]
}
