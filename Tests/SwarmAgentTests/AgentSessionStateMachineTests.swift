import Foundation
import SwarmCore
import SwarmWire
import Testing

@testable import SwarmAgent

/// The agent's session rules without sockets or real time: events in, actions checked.
@Suite struct AgentSessionStateMachineTests {
    typealias Machine = AgentSessionStateMachine
    typealias Action = Machine.Action

    let start = MeshTime(monotonic: .seconds(500), wall: Timestamp(unixNanos: 1_800_000_000_000_000_000))

    func welcome(window: Int = 8, heartbeat: Duration = .seconds(10), lastBatchID: UInt64 = 0) -> MeshMessage {
        .welcome(
            Mesh.Welcome(
                sessionID: "s",
                agentName: "a",
                heartbeatInterval: heartbeat,
                serverTime: start.wall,
                serverVersion: "test",
                maxFrameBytes: 4000,
                maxInFlightBatches: window,
                lastBatchID: lastBatchID
            )
        )
    }

    func batch(_ id: UInt64, count: Int = 1) -> Spool.Batch {
        Spool.Batch(id: id, measurements: Array(repeating: Data([1]), count: count))
    }

    /// A machine past Welcome with nothing to replay and an empty spool.
    func active(agentWindow: Int = 2, serverWindow: Int = 8) -> Machine {
        var m = Machine(configuration: .init(maxInFlightBatches: agentWindow, maxBatchMeasurements: 100))
        _ = m.handle(.helloSent(at: start))
        _ = m.handle(.message(welcome(window: serverWindow), at: start))
        _ = m.handle(.unacknowledgedBatches([]))
        _ = m.handle(.batchFormed(nil))
        return m
    }

    func assignment(_ id: Int64, probes: [ProbeKind] = [.tcp]) -> TestAssignment {
        TestAssignment(
            testID: TestID(id),
            revision: 1,
            spec: TestSpec(name: "t", probes: probes, target: .init(host: "127.0.0.1", port: 1))
        )
    }

    @Test("Welcome settles the window (the smaller limit), 3/4 of the frame limit per batch, and the heartbeat")
    func welcomeTerms() {
        var m = Machine(configuration: .init(maxInFlightBatches: 4))
        _ = m.handle(.helloSent(at: start))
        let actions = m.handle(.message(welcome(window: 2, heartbeat: .seconds(3), lastBatchID: 77), at: start))
        guard case .startSession(let w, let terms) = actions.first else {
            Issue.record("expected startSession, got \(actions)")
            return
        }
        #expect(w.lastBatchID == 77)
        #expect(terms == .init(window: 2, maxBatchBytes: 3000, heartbeatInterval: .seconds(3)))
        #expect(actions.contains { if case .readUnacknowledged(3000) = $0 { true } else { false } })
    }

    @Test("a refusal or another first answer fails the session with the server's reason")
    func refused() {
        var m = Machine(configuration: .init())
        _ = m.handle(.helloSent(at: start))
        _ = m.handle(.message(.error(.init(code: .revoked, message: "revoked by an admin", fatal: true)), at: start))
        #expect(m.outcome == .failed("server refused the session: revoked by an admin"))

        var closed = Machine(configuration: .init())
        _ = closed.handle(.helloSent(at: start))
        _ = closed.handle(.connectionEnded)
        guard case .failed(let reason) = closed.outcome else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.contains("before Welcome"))
    }

    @Test("replay first, oldest first, within the window; new batches only after the replay")
    func replayThenForm() {
        var m = Machine(configuration: .init(maxInFlightBatches: 2, maxBatchMeasurements: 100))
        _ = m.handle(.helloSent(at: start))
        _ = m.handle(.message(welcome(), at: start))
        #expect(m.handle(.spoolChanged).isEmpty, "nothing is formed before the replay list is known")
        let replay = m.handle(.unacknowledgedBatches([batch(1), batch(2), batch(3)]))
        #expect(replay.sentBatches == [1, 2])
        let afterAck = m.handle(.message(.batchAck(.init(batchID: 1, storedCount: 1, duplicate: false)), at: start))
        #expect(afterAck.acknowledged == [1])
        #expect(afterAck.sentBatches == [3])
        #expect(!afterAck.formsBatch)
        let emptied = m.handle(.message(.batchAck(.init(batchID: 2, storedCount: 1, duplicate: false)), at: start))
        #expect(emptied.formsBatch, "replay done and the window has room: form a new batch")
    }

    @Test("the in-flight window holds: no batch is formed while it is full; a ring during forming forms again")
    func window() {
        var m = active(agentWindow: 2)
        #expect(m.handle(.spoolChanged).formsBatch)
        #expect(m.handle(.spoolChanged).isEmpty, "one formBatch at a time")
        let first = m.handle(.batchFormed(batch(10)))
        #expect(first.sentBatches == [10] && first.formsBatch, "the ring during forming is not lost")
        let second = m.handle(.batchFormed(batch(11)))
        #expect(second.sentBatches == [11] && !second.formsBatch, "window full")
        #expect(m.handle(.spoolChanged).isEmpty)
        let ack = m.handle(.message(.batchAck(.init(batchID: 10, storedCount: 1, duplicate: false)), at: start))
        #expect(ack.acknowledged == [10] && ack.formsBatch)
        #expect(m.handle(.batchFormed(nil)).isEmpty, "empty spool: wait for the doorbell")
    }

    @Test("BATCH_ID_REUSED renumbers and resends; INVALID_BATCH drops; another non-fatal error reconnects in 1 s")
    func batchErrors() {
        var m = active(agentWindow: 4)
        _ = m.handle(.spoolChanged)
        _ = m.handle(.batchFormed(batch(20)))
        _ = m.handle(.batchFormed(batch(21)))
        let reused = m.handle(
            .message(
                .error(.init(code: .batchIDReused, message: "x", fatal: false, batchID: 20, lastBatchID: 500)),
                at: start
            )
        )
        #expect(reused.contains { if case .renumber(20, 500) = $0 { true } else { false } })
        let resent = m.handle(.batchRenumbered(from: 20, batch(501)))
        #expect(resent.sentBatches == [501])

        let invalid = m.handle(
            .message(.error(.init(code: .invalidBatch, message: "bad", fatal: false, batchID: 21)), at: start)
        )
        #expect(invalid.contains { if case .discard(21, _) = $0 { true } else { false } })
        #expect(m.outcome == nil)

        _ = m.handle(
            .message(.error(.init(code: .storeUnavailable, message: "down", fatal: false, batchID: 501)), at: start)
        )
        #expect(m.outcome == .reconnect(after: .seconds(1)))
    }

    @Test("a fatal error or an unexpected message fails the session")
    func fatal() {
        var m = active()
        _ = m.handle(.message(.error(.init(code: .malformedFrame, message: "bad frame", fatal: true)), at: start))
        #expect(m.outcome == .failed("server closed the session: bad frame"))
        var n = active()
        _ = n.handle(.message(.heartbeat(.init(sequence: 1, sentAt: start.wall, load: LoadSnapshot())), at: start))
        #expect(n.outcome == .failed("server sent an unexpected Heartbeat"))
    }

    @Test("snapshot collected until its last; changes applied at once; unsupported kinds rejected with a reason")
    func assignments() {
        var m = active()
        let one = m.handle(.message(.assignment(.init(assignment: assignment(1), snapshot: true)), at: start))
        #expect(!one.contains { if case .reconcile = $0 { true } else { false } })
        #expect(one.assignmentAcks.map(\.accepted) == [true])
        let last = m.handle(
            .message(.assignment(.init(assignment: assignment(2), snapshot: true, lastOfSnapshot: true)), at: start)
        )
        #expect(
            last.contains {
                if case .reconcile(let s) = $0 { s.map(\.testID) == [TestID(1), TestID(2)] } else { false }
            }
        )
        let change = m.handle(.message(.assignment(.init(assignment: assignment(3))), at: start))
        #expect(change.contains { if case .apply(let a) = $0 { a.testID == TestID(3) } else { false } })
        let cancel = m.handle(.message(.cancel(.init(testID: TestID(3), revision: 1, reason: "gone")), at: start))
        #expect(cancel.contains { if case .stop(TestID(3), _) = $0 { true } else { false } })
        #expect(cancel.assignmentAcks.map(\.testID) == [TestID(3)])

        var reject = active()
        let refused = reject.handle(
            .message(.assignment(.init(assignment: assignment(4, probes: [.gnmi, .tcp]))), at: start)
        )
        #expect(refused.assignmentAcks.map(\.accepted) == [true], "gnmi is run by the collector, tcp by probes")
        let empty = reject.handle(
            .message(.assignment(.init(assignment: nil, snapshot: true, lastOfSnapshot: true)), at: start)
        )
        #expect(empty.assignmentAcks.isEmpty, "the empty-snapshot marker gets no ack")
        #expect(empty.contains { if case .reconcile(let s) = $0 { s.isEmpty } else { false } })
    }

    @Test("heartbeats every interval with a rising sequence; a server silent for 3 intervals ends the session")
    func heartbeats() {
        var m = Machine(configuration: .init())
        _ = m.handle(.helloSent(at: start))
        _ = m.handle(.message(welcome(heartbeat: .seconds(10)), at: start))
        #expect(m.handle(.tick(start + .seconds(5))).isEmpty)
        #expect(m.handle(.tick(start + .seconds(10))).heartbeats == [1])
        _ = m.handle(
            .message(
                .heartbeatAck(
                    .init(sequence: 1, agentSentAt: start.wall, serverReceivedAt: start.wall, serverSentAt: start.wall)
                ),
                at: start + .seconds(10)
            )
        )
        #expect(m.handle(.tick(start + .seconds(20))).heartbeats == [2])
        #expect(
            m.handle(.tick(start + .seconds(40))).heartbeats == [3],
            "30 s since heard: not yet more than 3 intervals"
        )
        _ = m.handle(.tick(start + .seconds(41)))
        #expect(m.outcome == .reconnect(after: nil))
    }

    @Test("Goodbye from the server: replaced waits the long backoff, drain comes back when asked")
    func serverGoodbye() {
        var replaced = active()
        _ = replaced.handle(.message(.goodbye(.init(reason: .replaced, message: "newer")), at: start))
        #expect(replaced.outcome == .reconnect(after: .seconds(30)))
        var drained = active()
        _ = drained.handle(
            .message(.goodbye(.init(reason: .drain, message: "bye", reconnectAfter: .seconds(1))), at: start)
        )
        #expect(drained.outcome == .reconnect(after: .seconds(1)))
    }

    @Test("shutdown: Goodbye at once when nothing is in flight, else after the acks or the drain deadline")
    func shutdown() {
        var idle = active()
        let now = idle.handle(.shutdownRequested(at: start))
        #expect(now.goodbyes == [.shutdown] && idle.outcome != nil)

        var busy = active()
        _ = busy.handle(.spoolChanged)
        _ = busy.handle(.batchFormed(batch(30)))
        let waiting = busy.handle(.shutdownRequested(at: start))
        #expect(waiting.goodbyes.isEmpty)
        #expect(waiting.contains { if case .wake(let at) = $0 { at == start + .seconds(2) } else { false } })
        #expect(!busy.handle(.spoolChanged).formsBatch, "no new batches while draining")
        let acked = busy.handle(.message(.batchAck(.init(batchID: 30, storedCount: 1, duplicate: false)), at: start))
        #expect(acked.acknowledged == [30] && acked.goodbyes == [.shutdown])

        var stuck = active()
        _ = stuck.handle(.spoolChanged)
        _ = stuck.handle(.batchFormed(batch(31)))
        _ = stuck.handle(.shutdownRequested(at: start))
        #expect(stuck.handle(.tick(start + .seconds(3))).goodbyes == [.shutdown])
    }

    @Test("a frame the agent cannot read, or a failing spool, fails the session with the reason")
    func failures() {
        var m = active()
        _ = m.handle(.undecodableFrame(WireError(code: .frameTooLarge, message: "frame of 9 MB")))
        guard case .failed(let reason) = m.outcome else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.contains("frame of 9 MB"))
        var n = active()
        _ = n.handle(.localFailure("disk I/O error"))
        #expect(n.outcome == .failed("disk I/O error; reconnecting"))
    }
}

extension Array where Element == AgentSessionStateMachine.Action {
    var sent: [MeshMessage] {
        var messages: [MeshMessage] = []
        for case .send(let sent) in self { messages += sent }
        return messages
    }
    var sentBatches: [UInt64] { compactMap { if case .sendBatch(let b) = $0 { b.id } else { nil } } }
    var acknowledged: [UInt64] { compactMap { if case .acknowledge(let id, _) = $0 { id } else { nil } } }
    var heartbeats: [UInt64] { compactMap { if case .sendHeartbeat(let s, _) = $0 { s } else { nil } } }
    var formsBatch: Bool { contains { if case .formBatch = $0 { true } else { false } } }
    var assignmentAcks: [Mesh.AssignmentAck] {
        sent.compactMap { if case .assignmentAck(let a) = $0 { a } else { nil } }
    }
    var goodbyes: [Mesh.Goodbye.Reason] { sent.compactMap { if case .goodbye(let g) = $0 { g.reason } else { nil } } }
}
