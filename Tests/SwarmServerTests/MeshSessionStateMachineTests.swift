import Foundation
import SwarmCore
import SwarmStore
import SwarmWire
import Testing

@testable import SwarmServer

/// The server's session rules without sockets or real time: events in, actions checked.
@Suite struct MeshSessionStateMachineTests {
    typealias Machine = MeshSessionStateMachine
    typealias Action = Machine.Action

    let start = MeshTime(monotonic: .seconds(1000), wall: Timestamp(unixNanos: 1_800_000_000_000_000_000))
    let peer: Machine.Peer

    init() throws {
        peer = Machine.Peer(agent: try #require(AgentName("a")), serial: "0A1B", sessionID: "s-1")
    }

    func machine(window: Int = 2) -> Machine {
        Machine(
            configuration: .init(
                heartbeatInterval: .seconds(10),
                maxInFlightBatches: window,
                maxFrameBytes: 1_000_000,
                drainTimeout: .seconds(5),
                serverVersion: "test",
                responderKey: nil
            ),
            peer: peer
        )
    }

    func hello(version: UInt32 = meshProtocolVersion) -> MeshMessage {
        .hello(
            Mesh.Hello(protocolVersion: version, agentVersion: "9.9", host: HostFacts(hostname: "h"), capabilities: [])
        )
    }

    /// A machine that has said Welcome and pushed an empty snapshot.
    func opened(window: Int = 2) -> Machine {
        var m = machine(window: window)
        _ = m.handle(.message(hello(), at: start))
        _ = m.handle(.revocationChecked(revoked: false, at: start))
        _ = m.handle(.sessionOpened(lastBatchID: 0, at: start))
        _ = m.handle(.assignmentsRead([]))
        return m
    }

    func batch(_ id: UInt64, invalid: String? = nil) -> MeshMessage {
        .resultBatch(Mesh.ResultBatch(batchID: id, measurements: [], createdAt: start.wall, invalidReason: invalid))
    }

    func assignment(_ id: Int64, revision: Int) -> TestAssignment {
        TestAssignment(
            testID: TestID(id),
            revision: revision,
            spec: TestSpec(name: "t\(id)", probes: [.tcp], target: .init(host: "127.0.0.1", port: 1))
        )
    }

    // MARK: - Opening

    @Test("Hello first: another first frame gets UNEXPECTED_MESSAGE and a close, nothing recorded")
    func helloFirst() {
        var m = machine()
        let actions = m.handle(
            .message(.heartbeat(.init(sequence: 1, sentAt: start.wall, load: LoadSnapshot())), at: start)
        )
        #expect(actions.errors.map(\.code) == [.unexpectedMessage])
        #expect(actions.errors.allSatisfy { $0.fatal })
        #expect(actions.close?.markOffline == false)
        #expect(!actions.contains { if case .openSession = $0 { true } else { false } })
        #expect(m.isClosed)
        #expect(m.handle(.message(hello(), at: start)).isEmpty, "a closed session ignores what follows")
    }

    @Test("a Hello of another protocol version is refused with UNSUPPORTED_PROTOCOL_VERSION")
    func versionMismatch() {
        var m = machine()
        let actions = m.handle(.message(hello(version: 2), at: start))
        #expect(actions.errors.map(\.code) == [.unsupportedProtocolVersion])
        #expect(actions.errors.first?.message.contains("agent sent 2") == true)
        #expect(actions.close?.markOffline == false)
    }

    @Test(
        "admission: revocation checked first; revoked or unreadable store refuses; then Welcome and the snapshot read"
    )
    func admission() throws {
        var revoked = machine()
        #expect(
            revoked.handle(.message(hello(), at: start)).contains {
                if case .checkRevocation(peer.agent, "0A1B") = $0 { true } else { false }
            }
        )
        let refused = revoked.handle(.revocationChecked(revoked: true, at: start))
        #expect(refused.errors.map(\.code) == [.revoked])
        #expect(refused.close?.markOffline == false)

        var unreadable = machine()
        _ = unreadable.handle(.message(hello(), at: start))
        #expect(unreadable.handle(.revocationCheckFailed(reason: "disk")).errors.map(\.code) == [.storeUnavailable])

        var failing = machine()
        _ = failing.handle(.message(hello(), at: start))
        _ = failing.handle(.revocationChecked(revoked: false, at: start))
        let failed = failing.handle(.sessionOpenFailed(reason: "locked"))
        #expect(failed.errors.map(\.code) == [.storeUnavailable])
        #expect(failed.errors.allSatisfy { $0.fatal })
        #expect(failed.close?.markOffline == false)

        var m = machine()
        _ = m.handle(.message(hello(), at: start))
        let open = m.handle(.revocationChecked(revoked: false, at: start))
        guard case .openSession(let record) = open.first else {
            Issue.record("expected openSession, got \(open)")
            return
        }
        #expect(record.agent == peer.agent && record.sessionID == "s-1" && record.agentVersion == "9.9")
        #expect(record.certificateSerial == "0A1B" && record.at == start.wall)
        let welcomed = m.handle(.sessionOpened(lastBatchID: 42, at: start))
        let welcome = try #require(
            welcomed.sent.compactMap { if case .welcome(let w) = $0 { w } else { nil } }.first
        )
        #expect(welcome.lastBatchID == 42 && welcome.sessionID == "s-1" && welcome.agentName == "a")
        #expect(welcome.maxInFlightBatches == 2 && welcome.heartbeatInterval == .seconds(10))
        #expect(welcomed.contains { if case .readAssignments(peer.agent) = $0 { true } else { false } })
    }

    // MARK: - Assignments

    @Test("snapshot, then differences, then cancels; a reconcile during a read is served after it")
    func snapshotThenDiffs() {
        var m = machine()
        _ = m.handle(.message(hello(), at: start))
        _ = m.handle(.revocationChecked(revoked: false, at: start))
        _ = m.handle(.sessionOpened(lastBatchID: 0, at: start))
        // A change while the snapshot read runs: remembered, not a second concurrent read.
        #expect(m.handle(.reconcileRequested).isEmpty)
        let snapshot = m.handle(.assignmentsRead([assignment(1, revision: 1), assignment(2, revision: 1)]))
        let pushed = snapshot.sent.compactMap { if case .assignment(let a) = $0 { a } else { nil } }
        #expect(pushed.map { $0.assignment?.testID } == [TestID(1), TestID(2)])
        #expect(pushed.allSatisfy { $0.snapshot })
        #expect(pushed.map(\.lastOfSnapshot) == [false, true])
        #expect(snapshot.contains { if case .readAssignments = $0 { true } else { false } }, "the remembered change")

        let diff = m.handle(.assignmentsRead([assignment(1, revision: 2), assignment(3, revision: 1)]))
        let changed = diff.sent.compactMap { if case .assignment(let a) = $0 { a } else { nil } }
        #expect(changed.map { $0.assignment?.testID } == [TestID(1), TestID(3)])
        #expect(changed.map { $0.assignment?.revision } == [2, 1])
        #expect(changed.allSatisfy { !$0.snapshot })
        let cancels = diff.sent.compactMap { if case .cancel(let c) = $0 { c } else { nil } }
        #expect(cancels.map(\.testID) == [TestID(2)] && cancels.map(\.revision) == [1])

        #expect(m.handle(.reconcileRequested).count == 1)
        #expect(m.handle(.assignmentsRead([assignment(1, revision: 2), assignment(3, revision: 1)])).sent.isEmpty)
    }

    @Test("no active tests: the snapshot is exactly one empty marker")
    func emptySnapshot() {
        var m = machine()
        _ = m.handle(.message(hello(), at: start))
        _ = m.handle(.revocationChecked(revoked: false, at: start))
        _ = m.handle(.sessionOpened(lastBatchID: 0, at: start))
        let pushed = m.handle(.assignmentsRead([])).sent.compactMap {
            if case .assignment(let a) = $0 { a } else { nil }
        }
        #expect(pushed.count == 1)
        #expect(
            pushed.first?.assignment == nil && pushed.first?.snapshot == true && pushed.first?.lastOfSnapshot == true
        )
    }

    // MARK: - Batches

    @Test("the in-flight window: a batch beyond it gets TOO_MANY_IN_FLIGHT; an ack frees a place")
    func window() {
        var m = opened(window: 2)
        #expect(m.handle(.message(batch(1), at: start)).commits == [1])
        #expect(m.handle(.message(batch(2), at: start)).commits == [2])
        let beyond = m.handle(.message(batch(3), at: start))
        #expect(beyond.commits.isEmpty)
        #expect(beyond.errors.map(\.code) == [.tooManyInFlight])
        #expect(beyond.errors.first?.batchID == 3 && beyond.errors.first?.fatal == false)
        let again = m.handle(.message(batch(1), at: start))
        #expect(again.commits.isEmpty, "an id already being stored is not committed twice at once")
        #expect(again.errors.first?.message.contains("already being stored") == true)
        let acked = m.handle(.batchCommitted(BatchCommitResult(batchID: 1, storedCount: 5, duplicate: false)))
        #expect(acked.acks.map(\.batchID) == [1] && acked.acks.first?.storedCount == 5)
        #expect(m.handle(.message(batch(3), at: start)).commits == [3])
        #expect(!m.isClosed)
    }

    @Test("a replayed batch is acked as a duplicate; a re-used id asks for a renumbering; a failed commit says keep it")
    func duplicates() {
        var m = opened(window: 4)
        _ = m.handle(.message(batch(7), at: start))
        let duplicate = m.handle(.batchCommitted(BatchCommitResult(batchID: 7, storedCount: 0, duplicate: true)))
        #expect(duplicate.acks.map(\.duplicate) == [true])

        _ = m.handle(.message(batch(8), at: start))
        let reused = m.handle(.batchIDReused(batchID: 8, lastStored: 99))
        #expect(reused.acks.isEmpty, "acking would delete measurements never stored")
        #expect(reused.errors.map(\.code) == [.batchIDReused])
        #expect(reused.errors.first?.lastBatchID == 99 && reused.errors.first?.fatal == false)

        _ = m.handle(.message(batch(9), at: start))
        let failed = m.handle(.batchCommitFailed(batchID: 9, reason: "disk full"))
        #expect(failed.errors.map(\.code) == [.storeUnavailable])
        #expect(failed.errors.first?.batchID == 9 && failed.errors.first?.fatal == false)
        #expect(!m.isClosed)
    }

    @Test("an invalid batch is refused whole with INVALID_BATCH and never committed")
    func invalidBatch() {
        var m = opened()
        let actions = m.handle(.message(batch(5, invalid: "measurement 0 has no test"), at: start))
        #expect(actions.commits.isEmpty)
        #expect(actions.errors.map(\.code) == [.invalidBatch] && actions.errors.first?.fatal == false)
        #expect(!m.isClosed)
    }

    @Test(
        "frames that do not decode get their error code and a close",
        arguments: [
            (WireError.Code.frameTooLarge, Mesh.ErrorMessage.Code.frameTooLarge),
            (.unknownFlags, .unknownFlags),
            (.compressionUnsupported, .unknownFlags),
            (.malformedPayload, .malformedFrame),
            (.truncatedFrame, .malformedFrame),
        ]
    )
    func undecodable(wire: WireError.Code, code: Mesh.ErrorMessage.Code) {
        var m = opened()
        let actions = m.handle(.undecodableFrame(WireError(code: wire, message: "bad")))
        #expect(actions.errors.map(\.code) == [code])
        #expect(actions.errors.allSatisfy { $0.fatal })
        #expect(actions.close?.markOffline == true, "an opened session is marked offline")
    }

    @Test("a server-only message from the agent during a session is UNEXPECTED_MESSAGE")
    func unexpectedDuringSession() {
        var m = opened()
        let actions = m.handle(.message(.batchAck(.init(batchID: 1, storedCount: 1, duplicate: false)), at: start))
        #expect(actions.errors.map(\.code) == [.unexpectedMessage])
        #expect(actions.close != nil)
    }

    // MARK: - Liveness and closing

    @Test("three silent heartbeat intervals close the session and mark the agent offline; any frame is life")
    func liveness() {
        var m = opened()
        #expect(m.handle(.tick(start + .seconds(30))).isEmpty, "exactly 3 intervals is not yet more than 3")
        _ = m.handle(
            .message(.heartbeat(.init(sequence: 1, sentAt: start.wall, load: LoadSnapshot())), at: start + .seconds(25))
        )
        #expect(m.handle(.tick(start + .seconds(50))).isEmpty, "heard at 25 s")
        let silent = m.handle(.tick(start + .seconds(56)))
        #expect(silent.close?.markOffline == true)
        #expect(m.isClosed)
    }

    @Test("a heartbeat is answered with its sequence and the agent's time, and recorded as status")
    func heartbeat() {
        var m = opened()
        let actions = m.handle(
            .message(.heartbeat(.init(sequence: 7, sentAt: Timestamp(unixNanos: 5), load: LoadSnapshot())), at: start)
        )
        let acks = actions.sent.compactMap { if case .heartbeatAck(let a) = $0 { a } else { nil } }
        #expect(acks.map(\.sequence) == [7] && acks.first?.agentSentAt == Timestamp(unixNanos: 5))
        #expect(acks.first?.serverReceivedAt == start.wall)
        #expect(actions.contains { if case .recordStatus(let u) = $0 { u.agent == peer.agent } else { false } })
    }

    @Test("drain waits for in-flight commits, then Goodbye(drain) asking to come back in 1 s")
    func drain() {
        var m = opened(window: 4)
        _ = m.handle(.message(batch(1), at: start))
        let draining = m.handle(.closeRequested(.drain, at: start))
        #expect(draining.sent.isEmpty)
        #expect(draining.contains { if case .wake(let at) = $0 { at == start + .seconds(5) } else { false } })
        #expect(m.handle(.tick(start + .seconds(1))).isEmpty)
        let done = m.handle(.batchCommitted(BatchCommitResult(batchID: 1, storedCount: 1, duplicate: false)))
        #expect(done.acks.map(\.batchID) == [1], "the ack goes out before Goodbye")
        let goodbyes = done.goodbyes
        #expect(goodbyes.map(\.reason) == [.drain] && goodbyes.first?.reconnectAfter == .seconds(1))
        #expect(done.close?.markOffline == true)

        var idle = opened()
        #expect(idle.handle(.closeRequested(.drain, at: start)).sent.count == 1, "nothing in flight: Goodbye at once")

        var stuck = opened()
        _ = stuck.handle(.message(batch(1), at: start))
        _ = stuck.handle(.closeRequested(.drain, at: start))
        let late = stuck.handle(.tick(start + .seconds(6)))
        #expect(late.goodbyes.map(\.reason) == [.drain])
    }

    @Test("a newer session replaces this one: Goodbye(replaced); a revocation: Goodbye(shutdown)")
    func replacedAndRevoked() {
        var replaced = opened()
        let r = replaced.handle(.closeRequested(.replaced, at: start))
        #expect(r.goodbyes.map(\.reason) == [.replaced])
        #expect(r.close?.markOffline == true, "offline for this session id only; the store keeps the newer one")

        var revoked = opened()
        let v = revoked.handle(.closeRequested(.revoked, at: start))
        #expect(v.goodbyes.map(\.reason) == [.shutdown])
    }

    @Test("the agent's Goodbye or fatal error ends the session; a non-fatal error is only logged")
    func agentEnds() {
        var bye = opened()
        #expect(bye.handle(.message(.goodbye(.init(reason: .shutdown, message: "stopping")), at: start)).close != nil)
        var warned = opened()
        let note = warned.handle(.message(.error(.init(code: .internalError, message: "hm", fatal: false)), at: start))
        #expect(note.close == nil && !warned.isClosed)
        #expect(
            warned.handle(.message(.error(.init(code: .internalError, message: "x", fatal: true)), at: start)).close
                != nil
        )
    }

    @Test("a thousand sessions through their whole life each end closed")
    func lifeCycles() {
        for index in 0..<1000 {
            var m = opened(window: 4)
            _ = m.handle(.message(batch(UInt64(index) + 1), at: start))
            _ = m.handle(
                .batchCommitted(BatchCommitResult(batchID: UInt64(index) + 1, storedCount: 1, duplicate: false))
            )
            _ = m.handle(.connectionEnded(reason: "closed"))
            #expect(m.isClosed)
        }
    }
}

extension Array where Element == MeshSessionStateMachine.Action {
    var sent: [MeshMessage] {
        var messages: [MeshMessage] = []
        for case .send(let sent) in self { messages += sent }
        return messages
    }
    var goodbyes: [Mesh.Goodbye] { sent.compactMap { if case .goodbye(let g) = $0 { g } else { nil } } }
    var errors: [Mesh.ErrorMessage] { sent.compactMap { if case .error(let e) = $0 { e } else { nil } } }
    var acks: [Mesh.BatchAck] { sent.compactMap { if case .batchAck(let a) = $0 { a } else { nil } } }
    var commits: [UInt64] { compactMap { if case .commit(let b) = $0 { b.batchID } else { nil } } }
    var close: (reason: String, markOffline: Bool)? {
        for action in self { if case .close(let reason, let markOffline) = action { return (reason, markOffline) } }
        return nil
    }
}
