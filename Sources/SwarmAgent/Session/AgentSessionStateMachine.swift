import Logging
import SwarmCore
import SwarmWire

/// The agent's side of one mesh session, as a value: events in, actions out, no I/O and no clock.
///
/// `AgentSession` drives it: it feeds decoded frames, spool answers, doorbell rings (measurements
/// spooled), ticks and shutdown (each with the time it happened) and performs the actions. The rules
/// follow the transition table in `Proto/README.md`.
struct AgentSessionStateMachine {
    struct Configuration: Sendable {
        /// The agent's own in-flight limit; Welcome may lower it.
        var maxInFlightBatches = 4
        var maxBatchMeasurements = 500
        /// Wait after Goodbye(replaced), so two processes sharing one certificate do not flap.
        var replacedBackoff: Duration = .seconds(30)
        /// On shutdown, how long to wait for acks of batches in flight before Goodbye.
        var drainTimeout: Duration = .seconds(2)
    }

    /// How a session ended, for the reconnect loop.
    enum Outcome: Sendable, Equatable {
        /// Reconnect; after this wait when the server asked for one, else with backoff; to one of
        /// `redirect` (a draining server's peers) when the agent knows one.
        case reconnect(after: Duration?, redirect: [String] = [])
        /// The session failed: the reason is reported and the agent reconnects with backoff.
        case failed(String)
    }

    /// What a Welcome settled for this session.
    struct Terms: Sendable, Equatable {
        var window: Int
        var maxBatchBytes: Int
        var heartbeatInterval: Duration
    }

    enum Event: Sendable {
        /// Connected and Hello written.
        case helloSent(at: MeshTime)
        case message(MeshMessage, at: MeshTime)
        case undecodableFrame(WireError)
        case connectionEnded
        /// The unacknowledged batches to replay, oldest first (after re-forming oversized ones).
        case unacknowledgedBatches([Spool.Batch])
        /// A new batch from the spool, or nil when nothing waits to be sent.
        case batchFormed(Spool.Batch?)
        /// A batch under its new id after `BATCH_ID_REUSED` (nil: it was acked meanwhile).
        case batchRenumbered(from: UInt64, Spool.Batch?)
        /// Measurements were spooled.
        case spoolChanged
        case localFailure(String)
        case tick(MeshTime)
        case shutdownRequested(at: MeshTime)
    }

    enum Action: Sendable {
        case send([MeshMessage])
        case sendBatch(Spool.Batch)
        case sendHeartbeat(sequence: UInt64, batchesInFlight: Int)
        /// Take the Welcome's responder key and batch-id floor, count the session, log it.
        case startSession(Mesh.Welcome, Terms)
        case readUnacknowledged(dissolveLargerThan: Int)
        case formBatch(maxMeasurements: Int, maxBytes: Int)
        case acknowledge(batchID: UInt64, measurements: Int)
        case discard(batchID: UInt64, reason: String)
        case renumber(batchID: UInt64, above: UInt64)
        case apply(TestAssignment)
        case reconcile([TestAssignment])
        case stop(TestID, reason: String)
        case log(Logger.Level, String)
        case wake(at: MeshTime)
        case close(Outcome)

        /// What the action does, for error messages (never its data).
        var name: String {
            switch self {
            case .send: "send"
            case .sendBatch(let batch): "send batch \(batch.id)"
            case .sendHeartbeat: "send a heartbeat"
            case .startSession: "start the session"
            case .readUnacknowledged: "read unacknowledged batches"
            case .formBatch: "form a batch"
            case .acknowledge(let id, _): "acknowledge batch \(id)"
            case .discard(let id, _): "discard batch \(id)"
            case .renumber(let id, _): "renumber batch \(id)"
            case .apply(let a): "apply test \(a.testID)"
            case .reconcile: "reconcile assignments"
            case .stop(let id, _): "stop test \(id)"
            case .log: "log"
            case .wake: "wait"
            case .close: "close"
            }
        }
    }

    enum State: Sendable {
        case connecting
        case awaitingWelcome
        case active(Active)
        /// Shutting down: no new batches; Goodbye once in-flight ones are acked or the deadline passes.
        case draining(Active, deadline: MeshTime)
        case closed(Outcome)
    }

    struct Active: Sendable {
        var terms: Terms
        var lastHeard: MeshTime
        var nextHeartbeat: MeshTime
        var heartbeatSequence: UInt64 = 0
        /// Batch id → measurement count, sent and not yet acknowledged.
        var inFlight: [UInt64: Int] = [:]
        /// Unacknowledged batches still to replay; nil until the spool said which.
        var replay: [Spool.Batch]?
        var forming = false
        /// Measurements were spooled since the last formBatch started.
        var spoolDirty = true
        var snapshot: [TestAssignment] = []
    }

    let configuration: Configuration
    private(set) var state: State = .connecting

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    var outcome: Outcome? {
        if case .closed(let outcome) = state { return outcome }
        return nil
    }

    mutating func handle(_ event: Event) -> [Action] {
        switch (state, event) {
        case (.closed, _):
            return []
        case (.connecting, .helloSent):
            state = .awaitingWelcome
            return []
        case (.awaitingWelcome, .message(let message, let now)):
            return welcome(message, at: now)
        case (.awaitingWelcome, .connectionEnded):
            return close(.failed("server closed the connection before Welcome (TLS refused or timeout)"))
        case (_, .connectionEnded):
            return close(.reconnect(after: nil))
        case (_, .undecodableFrame(let error)):
            return close(.failed("server sent a frame this agent cannot read: \(error.message)"))
        case (_, .localFailure(let reason)):
            return close(.failed("\(reason); reconnecting"))
        case (.active(var active), .message(let message, let now)):
            active.lastHeard = now
            return withActive(&active) { machine, active in machine.receive(message, active: &active) }
        case (.draining(var active, let deadline), .message(let message, let now)):
            active.lastHeard = now
            return withDraining(&active, deadline) { machine, active in machine.receive(message, active: &active) }
        case (.active(var active), .unacknowledgedBatches(let batches)):
            active.replay = batches
            return withActive(&active) { machine, active in machine.pump(&active) }
        case (.active(var active), .batchFormed(let batch)):
            active.forming = false
            if let batch {
                active.inFlight[batch.id] = batch.measurements.count
                return [.sendBatch(batch)] + withActive(&active) { machine, active in machine.pump(&active) }
            }
            return withActive(&active) { machine, active in machine.pump(&active) }
        case (.draining(var active, let deadline), .batchFormed):
            // Formed before the shutdown: it stays in the spool and is replayed next time.
            active.forming = false
            return withDraining(&active, deadline) { _, _ in [] }
        case (.active(var active), .batchRenumbered(let old, let batch)):
            return withActive(&active) { _, active in Self.resend(batch, replacing: old, active: &active) }
        case (.draining(var active, let deadline), .batchRenumbered(let old, let batch)):
            return withDraining(&active, deadline) { _, active in Self.resend(batch, replacing: old, active: &active) }
        case (.active(var active), .spoolChanged):
            active.spoolDirty = true
            return withActive(&active) { machine, active in machine.pump(&active) }
        case (.active(var active), .tick(let now)):
            return withActive(&active) { machine, active in machine.tick(now, active: &active) }
        case (.draining(var active, let deadline), .tick(let now)):
            guard now < deadline else { return goodbye() }
            return withDraining(&active, deadline) { machine, active in machine.tick(now, active: &active) }
        case (.active(let active), .shutdownRequested(let now)):
            guard !active.inFlight.isEmpty else { return goodbye() }
            let deadline = now + configuration.drainTimeout
            state = .draining(active, deadline: deadline)
            return [.wake(at: deadline)]
        case (.connecting, .shutdownRequested), (.awaitingWelcome, .shutdownRequested):
            return close(.reconnect(after: nil))
        default:
            return []
        }
    }

    // MARK: - Welcome

    private mutating func welcome(_ message: MeshMessage, at now: MeshTime) -> [Action] {
        switch message {
        case .welcome(let welcome):
            let terms = Terms(
                window: max(
                    1,
                    min(
                        configuration.maxInFlightBatches,
                        welcome.maxInFlightBatches > 0 ? welcome.maxInFlightBatches : .max
                    )
                ),
                maxBatchBytes: (welcome.maxFrameBytes > 0 ? welcome.maxFrameBytes : MeshFrame.defaultMaxPayloadBytes)
                    * 3 / 4,
                heartbeatInterval: welcome.heartbeatInterval > .zero ? welcome.heartbeatInterval : .seconds(10)
            )
            state = .active(Active(terms: terms, lastHeard: now, nextHeartbeat: now + terms.heartbeatInterval))
            return [
                .startSession(welcome, terms),
                // Batches formed under a larger limit than this server's would be refused on every replay.
                .readUnacknowledged(dissolveLargerThan: terms.maxBatchBytes),
            ]
        case .error(let error):
            return close(.failed("server refused the session: \(error.message)"))
        default:
            return close(.failed("server answered Hello with \(message.name) instead of Welcome"))
        }
    }

    // MARK: - Active session

    private func receive(_ message: MeshMessage, active: inout Active) -> [Action] {
        switch message {
        case .assignment(let message):
            return assignment(message, active: &active)
        case .cancel(let cancel):
            return [
                .stop(cancel.testID, reason: cancel.reason),
                .send([.assignmentAck(.init(testID: cancel.testID, revision: cancel.revision, accepted: true))]),
            ]
        case .batchAck(let ack):
            guard let count = active.inFlight.removeValue(forKey: ack.batchID) else { return [] }
            return [.acknowledge(batchID: ack.batchID, measurements: count)] + pump(&active)
        case .heartbeatAck:
            return []
        case .goodbye(let goodbye):
            let log = Action.log(.info, "server said Goodbye (\(goodbye.reason)): \(goodbye.message)")
            switch goodbye.reason {
            case .replaced: return [log, .close(.reconnect(after: configuration.replacedBackoff))]
            default:
                let after = goodbye.reconnectAfter > .zero ? goodbye.reconnectAfter : nil
                return [
                    log, .close(.reconnect(after: after, redirect: goodbye.reason == .drain ? goodbye.redirect : [])),
                ]
            }
        case .error(let error):
            return serverError(error, active: &active)
        case .hello, .welcome, .heartbeat, .assignmentAck, .resultBatch:
            return [.close(.failed("server sent an unexpected \(message.name)"))]
        }
    }

    private func serverError(_ error: Mesh.ErrorMessage, active: inout Active) -> [Action] {
        if error.fatal { return [.close(.failed("server closed the session: \(error.message)"))] }
        switch error.code {
        case .batchIDReused:
            // The id was stored before with other measurements: send these under a new one.
            guard active.inFlight.removeValue(forKey: error.batchID) != nil else { return [] }
            return [.renumber(batchID: error.batchID, above: error.lastBatchID)]
        case .invalidBatch:
            // The server will never take this batch; keeping it would replay it forever.
            guard active.inFlight.removeValue(forKey: error.batchID) != nil else { return [] }
            return [.discard(batchID: error.batchID, reason: error.message)] + pump(&active)
        default:
            // A batch the server could not take now: reconnect, which replays every unacked batch.
            return [
                .log(.warning, "server reported: \(error.message); reconnecting to replay unacknowledged batches"),
                .close(.reconnect(after: .seconds(1))),
            ]
        }
    }

    private func assignment(_ message: Mesh.Assignment, active: inout Active) -> [Action] {
        var actions: [Action] = []
        if let assignment = message.assignment {
            let unsupported = ProbeRunner.unsupportedKinds(in: assignment.spec)
            if !unsupported.isEmpty {
                let names = unsupported.map(\.rawValue).joined(separator: ", ")
                actions.append(.log(.warning, "rejecting test \(assignment.testID): this agent cannot run \(names)"))
                actions.append(
                    .send([
                        .assignmentAck(
                            .init(
                                testID: assignment.testID,
                                revision: assignment.revision,
                                accepted: false,
                                reason: "this agent build cannot run probe kind(s) \(names) yet"
                            )
                        )
                    ])
                )
            } else {
                if message.snapshot {
                    active.snapshot.append(assignment)
                } else {
                    actions.append(.apply(assignment))
                }
                actions.append(
                    .send([
                        .assignmentAck(.init(testID: assignment.testID, revision: assignment.revision, accepted: true))
                    ])
                )
            }
        }
        if message.snapshot && message.lastOfSnapshot {
            actions.append(.reconcile(active.snapshot))
            actions.append(.log(.info, "assignments reconciled: \(active.snapshot.count) active tests"))
            active.snapshot.removeAll()
        }
        return actions
    }

    /// A batch under its new id after `BATCH_ID_REUSED` takes the old one's place in the window;
    /// nil (acked meanwhile) sends nothing.
    private static func resend(_ batch: Spool.Batch?, replacing old: UInt64, active: inout Active) -> [Action] {
        guard let batch else { return [] }
        active.inFlight[batch.id] = batch.measurements.count
        return [
            .log(.warning, "batch id \(old) was already used on the server; resending as \(batch.id)"),
            .sendBatch(batch),
        ]
    }

    /// Sends what the window allows: replayed batches first, then new ones from the spool.
    private func pump(_ active: inout Active) -> [Action] {
        guard var replay = active.replay else { return [] }
        var actions: [Action] = []
        while active.inFlight.count < active.terms.window, !replay.isEmpty {
            let batch = replay.removeFirst()
            active.inFlight[batch.id] = batch.measurements.count
            actions.append(.sendBatch(batch))
        }
        active.replay = replay
        if replay.isEmpty, active.inFlight.count < active.terms.window, !active.forming, active.spoolDirty {
            active.forming = true
            active.spoolDirty = false
            actions.append(
                .formBatch(maxMeasurements: configuration.maxBatchMeasurements, maxBytes: active.terms.maxBatchBytes)
            )
        }
        return actions
    }

    /// Liveness and heartbeats: a silent server for 3 intervals ends the session.
    private func tick(_ now: MeshTime, active: inout Active) -> [Action] {
        let interval = active.terms.heartbeatInterval
        let silent = now - active.lastHeard
        if silent > interval * 3 {
            return [
                .log(.warning, "server silent for \(silent) (3 heartbeat intervals); reconnecting"),
                .close(.reconnect(after: nil)),
            ]
        }
        guard now >= active.nextHeartbeat else { return [] }
        active.heartbeatSequence += 1
        active.nextHeartbeat = now + interval
        return [.sendHeartbeat(sequence: active.heartbeatSequence, batchesInFlight: active.inFlight.count)]
    }

    // MARK: - Closing

    /// Goodbye, so the server marks the agent offline at once instead of after three missed heartbeats.
    private mutating func goodbye() -> [Action] {
        [.send([.goodbye(Mesh.Goodbye(reason: .shutdown, message: "agent shutting down"))])]
            + close(.reconnect(after: nil))
    }

    private mutating func close(_ outcome: Outcome) -> [Action] {
        state = .closed(outcome)
        return [.close(outcome)]
    }

    /// Runs `body` on the active state and stores it back; a `.close` among the actions closes.
    private mutating func withActive(
        _ active: inout Active,
        _ body: (AgentSessionStateMachine, inout Active) -> [Action]
    ) -> [Action] {
        let actions = body(self, &active)
        state = .active(active)
        return settle(actions)
    }

    /// Like `withActive` while draining: Goodbye once nothing is in flight.
    private mutating func withDraining(
        _ active: inout Active,
        _ deadline: MeshTime,
        _ body: (AgentSessionStateMachine, inout Active) -> [Action]
    ) -> [Action] {
        // No new batches while draining: only acks and renumbered batches move the window.
        let actions = body(self, &active).filter {
            if case .formBatch = $0 { return false }
            return true
        }
        state = .draining(active, deadline: deadline)
        let settled = settle(actions)
        if case .draining = state, active.inFlight.isEmpty { return settled + goodbye() }
        return settled
    }

    /// Moves to `.closed` when the actions close the session (and drops what follows the close).
    private mutating func settle(_ actions: [Action]) -> [Action] {
        guard let index = actions.firstIndex(where: { if case .close = $0 { true } else { false } }),
            case .close(let outcome) = actions[index]
        else { return actions }
        state = .closed(outcome)
        return Array(actions[...index])
    }
}
