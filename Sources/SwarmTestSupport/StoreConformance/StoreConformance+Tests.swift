import SwarmCore
import SwarmStore
import Testing

// TestStore: tests, revisions, lifecycle and queries; assignments and their history.
extension StoreConformance {
    static let testContracts: [Contract] = [
        Contract("tests: create stores revision 1 with its agents; revise makes revision 2 of the same test") {
            let store = $0.store
            let created = try await store.createTest(spec("a"), agents: [beta, alpha, alpha])
            #expect(created.revision == 1 && created.state == .active && created.spec == spec("a"))
            #expect(created.agents == [alpha, beta], "agents are stored once each, sorted")
            #expect(created.parentID == nil && created.occurrence == 0)
            let revised = try await store.reviseTest(created.id, spec: spec("b", interval: .seconds(5)))
            #expect(revised.id == created.id && revised.revision == 2 && revised.spec.name == "b")
            #expect(revised.spec.schedule.interval == .seconds(5) && revised.agents == [alpha, beta])
            #expect(revised.createdAt == created.createdAt && revised.updatedAt >= created.updatedAt)
            #expect(try await store.test(created.id) == revised)
            #expect(try await store.tests() == [revised])
            #expect(try await store.test(TestID(created.id.rawValue + 100)) == nil)
        },
        Contract("tests: an invalid spec or no agents is refused with invalidInput and nothing is stored") {
            let store = $0.store
            await expectStoreError(.invalidInput) {
                _ = try await store.createTest(
                    TestSpec(name: "x", probes: [.tcp], target: .init(host: "h")),
                    agents: [alpha]
                )
            }
            await expectStoreError(.invalidInput) { _ = try await store.createTest(spec("x"), agents: []) }
            #expect(try await store.tests().isEmpty)
            let test = try await store.createTest(spec("ok"), agents: [alpha])
            await expectStoreError(.invalidInput) {
                _ = try await store.reviseTest(test.id, spec: TestSpec(name: "x", probes: [.tcp]))
            }
            await expectStoreError(.invalidInput) { _ = try await store.reassignTest(test.id, agents: []) }
            #expect(try await store.test(test.id) == test)
        },
        Contract(
            "tests: cancel ends the assignments and keeps the test; a cancelled test cannot be revised; restart revives it"
        ) {
            let store = $0.store
            let created = try await store.createTest(spec("a"), agents: [alpha])
            let cancelled = try await store.cancelTest(created.id)
            #expect(cancelled.state == .cancelled && cancelled.revision == 1)
            #expect(try await store.cancelTest(created.id).state == .cancelled, "cancelling twice is harmless")
            #expect(try await store.activeAssignments(for: alpha).isEmpty)
            await expectStoreError(.conflict) { _ = try await store.reviseTest(created.id, spec: spec("b")) }
            let restarted = try await store.restartTest(created.id, spec: spec("again"))
            #expect(restarted.id == created.id && restarted.state == .active && restarted.revision == 2)
            #expect(restarted.spec.name == "again" && restarted.agents == [alpha])
            #expect(try await store.activeAssignments(for: alpha).map(\.revision) == [2])
        },
        Contract("tests: revise, cancel, reassign and restart of an unknown test are notFound") {
            let store = $0.store
            let missing = TestID(4_711)
            await expectStoreError(.notFound) { _ = try await store.reviseTest(missing, spec: spec("x")) }
            await expectStoreError(.notFound) { _ = try await store.cancelTest(missing) }
            await expectStoreError(.notFound) { _ = try await store.reassignTest(missing, agents: [alpha]) }
            await expectStoreError(.notFound) { _ = try await store.restartTest(missing, spec: spec("x")) }
            await expectStoreError(.notFound) {
                _ = try await store.createChildTest(spec("x"), parent: missing, occurrence: 1)
            }
            let tests = try await store.tests()
            #expect(tests.isEmpty)
        },
        Contract("tests: reassign replaces the agents; activeTestIDsByAgent follows") {
            let store = $0.store
            let one = try await store.createTest(spec("one"), agents: [alpha])
            let two = try await store.createTest(spec("two"), agents: [alpha, beta])
            #expect(try await store.activeTestIDsByAgent() == [alpha: [one.id, two.id], beta: [two.id]])
            let moved = try await store.reassignTest(one.id, agents: [gamma, beta])
            #expect(moved.agents == [beta, gamma] && moved.revision == one.revision)
            #expect(
                try await store.activeTestIDsByAgent() == [alpha: [two.id], beta: [one.id, two.id], gamma: [one.id]]
            )
            _ = try await store.cancelTest(two.id)
            #expect(try await store.activeTestIDsByAgent() == [beta: [one.id], gamma: [one.id]])
        },
        Contract("tests: children of a recurring test take its agents, one per occurrence") {
            let store = $0.store
            var parentSpec = spec("parent")
            parentSpec.recurrence = .init(mode: .new, interval: .seconds(60))
            let parent = try await store.createTest(parentSpec, agents: [alpha, beta])
            let child = try await store.createChildTest(spec("parent #1"), parent: parent.id, occurrence: 1)
            #expect(child.parentID == parent.id && child.occurrence == 1 && child.revision == 1)
            #expect(child.agents == [alpha, beta] && child.state == .active)
            await expectStoreError(.conflict, "another scheduler made this occurrence") {
                _ = try await store.createChildTest(spec("parent #1"), parent: parent.id, occurrence: 1)
            }
            let second = try await store.createChildTest(spec("parent #2"), parent: parent.id, occurrence: 2)
            let children = try await store.tests(matching: TestQuery(parent: parent.id))
            #expect(children.tests.map(\.id) == [second.id, child.id] && children.total == 2)
            let recurring = try await store.tests(matching: TestQuery(recurrence: .new))
            #expect(recurring.tests.map(\.id) == [parent.id])
        },
        Contract("tests: deleteTests returns how many existed and takes their results and assignments") {
            let store = $0.store
            try await connect(store, alpha)
            let keep = try await store.createTest(spec("keep"), agents: [alpha])
            let drop = try await store.createTest(spec("drop"), agents: [alpha])
            _ = try await store.commitBatches([
                batch(
                    alpha,
                    1,
                    [
                        measurement(keep.id, alpha, sequence: 1, at: 10),
                        measurement(drop.id, alpha, sequence: 2, at: 20),
                    ]
                )
            ])
            #expect(try await store.deleteTests([]) == 0)
            #expect(try await store.deleteTests([drop.id, TestID(9_999)]) == 1)
            #expect(try await store.deleteTests([drop.id]) == 0)
            #expect(try await store.test(drop.id) == nil)
            #expect(try await store.tests().map(\.id) == [keep.id])
            #expect(try await store.measurementCount(test: drop.id) == 0)
            #expect(try await store.measurementCount(test: nil) == 1)
            #expect(try await store.activeAssignments(for: alpha).map(\.testID) == [keep.id])
        },
        Contract("tests: queries page newest first with the total, and search names and targets case-insensitively") {
            let store = $0.store
            var ids: [TestID] = []
            for n in 1...5 { ids.append(try await store.createTest(spec("plain \(n)"), agents: [alpha]).id) }
            let web = try await store.createTest(tcpSpec("Web Front", host: "www.Example.org"), agents: [alpha])
            _ = try await store.cancelTest(ids[0])

            let first = try await store.tests(matching: TestQuery(limit: 2))
            #expect(first.tests.map(\.id) == [web.id, ids[4]] && first.total == 6)
            let third = try await store.tests(matching: TestQuery(limit: 2, offset: 4))
            #expect(third.tests.map(\.id) == [ids[1], ids[0]] && third.total == 6)
            let beyond = try await store.tests(matching: TestQuery(limit: 2, offset: 10))
            #expect(beyond.tests.isEmpty && beyond.total == 6)
            #expect(try await store.tests(matching: TestQuery(text: "web front")).tests.map(\.id) == [web.id])
            #expect(try await store.tests(matching: TestQuery(text: "EXAMPLE.ORG")).tests.map(\.id) == [web.id])
            #expect(try await store.tests(matching: TestQuery(text: "nothing like it")).total == 0)
            let cancelled = try await store.tests(matching: TestQuery(state: .cancelled))
            #expect(cancelled.tests.map(\.id) == [ids[0]] && cancelled.total == 1)
            #expect(try await store.tests(matching: TestQuery(text: "plain", state: .active)).total == 4)
        },
    ]

    static let assignmentContracts: [Contract] = [
        Contract("assignments: an agent's active tests at their current revisions, in test order") {
            let store = $0.store
            let one = try await store.createTest(spec("one"), agents: [alpha])
            let two = try await store.createTest(spec("two"), agents: [alpha, beta])
            _ = try await store.reviseTest(two.id, spec: spec("two, revised"))
            let three = try await store.createTest(spec("three"), agents: [beta])
            _ = try await store.cancelTest(three.id)
            let assignments = try await store.activeAssignments(for: alpha)
            #expect(assignments.map(\.testID) == [one.id, two.id])
            #expect(assignments.map(\.revision) == [1, 2])
            #expect(assignments.last?.spec.name == "two, revised")
            #expect(try await store.activeAssignments(for: beta).map(\.testID) == [two.id])
            #expect(try await store.activeAssignments(for: gamma).isEmpty)
        },
        Contract(
            "assignments: results measured while a test was assigned are stored after it moved; others are refused"
        ) {
            let store = $0.store
            try await connect(store, alpha)
            try await connect(store, beta, session: "s2")
            let test = try await store.createTest(spec("t"), agents: [alpha])
            let whileAssigned = Timestamp.now().unixNanos
            _ = try await store.reassignTest(test.id, agents: [beta])
            let hour: Int64 = 3_600_000_000_000
            let result = try #require(
                try await store.commitBatches([
                    batch(
                        alpha,
                        1,
                        [
                            measurement(test.id, alpha, sequence: 1, at: whileAssigned),
                            // Long after the move and long before the assignment (beyond any clock slack).
                            measurement(test.id, alpha, sequence: 2, at: whileAssigned + hour),
                            measurement(test.id, alpha, sequence: 3, at: whileAssigned - hour),
                        ]
                    )
                ]).first
            )
            #expect(result.storedCount == 1 && result.rejectedCount == 2 && !result.duplicate)
            #expect(try await store.measurementCount(test: test.id) == 1)
            // The agent that holds it now may write any time.
            let current = try await store.commitBatches([
                batch(beta, 1, [measurement(test.id, beta, sequence: 1, at: whileAssigned + hour)])
            ])
            #expect(current.first?.storedCount == 1)
        },
    ]
}
