import Logging
import SwarmCore
import SwarmStore
import SwarmWire

/// The server's side of one mesh session, as a value: events in, actions out, no I/O and no clock.
///
/// `MeshSession` drives it: it feeds every decoded frame, store answer, control request and tick
/// (each with the time it happened) and performs the actions in order. The rules follow the
/// transition table in `Proto/README.md`; another implementation of the server follows the same table.
struct MeshSessionStateMachine {
    struct Configuration: Sendable {
        var heartbeatInterval: Duration
        var maxInFlightBatches: Int
        var maxFrameBytes: Int
        var drainTimeout: Duration
        var serverVersion: String
        var responderKey: ResponderKey?
        /// Recorded with the session, so the others can tell when this server died.
        var serverID: String = ""
    }

    /// Who is on the other end, as admission proved it, and the id this session will have.
    struct Peer: Sendable, Hashable {
        var agent: AgentName
        var serial: String
        var sessionID: String
    }

    enum Event: Sendable {
        case message(MeshMessage, at: MeshTime)
        /// A frame that did not decode (or a read error that carries a wire error).
        case undecodableFrame(WireError)
        /// The peer closed the connection, or reading from it failed.
        case connectionEnded(reason: String)
        case revocationChecked(revoked: Bool, at: MeshTime)
        case revocationCheckFailed(reason: String)
        /// The session start is recorded; `lastBatchID` is the highest batch stored from the agent.
        case sessionOpened(lastBatchID: UInt64, at: MeshTime)
        case sessionOpenFailed(reason: String)
        case reconcileRequested
        case assignmentsRead([TestAssignment])
        case assignmentsReadFailed(reason: String)
        case batchCommitted(BatchCommitResult)
        /// The batch id was stored before with other measurements; `lastStored` is the agent's highest.
        case batchIDReused(batchID: UInt64, lastStored: UInt64)
        case batchCommitFailed(batchID: UInt64, reason: String)
        /// `redirect`: with a drain, the other live servers' addresses, passed on in the Goodbye.
        case closeRequested(SessionHandle.CloseReason, at: MeshTime, redirect: [String] = [])
        case tick(MeshTime)
    }

    enum Action: Sendable {
        case send([MeshMessage])
        /// Ask the store whether the agent name or certificate serial is revoked.
        case checkRevocation(AgentName, serial: String)
        /// Register the session (replacing an older one), record its start, read the last batch id.
        case openSession(SessionStart)
        case readAssignments(AgentName)
        case commit(IncomingBatch)
        case recordStatus(AgentStatusUpdate)
        case log(Logger.Level, String, Logger.Metadata)
        /// Deliver a tick at (or soon after) this time.
        case wake(at: MeshTime)
        /// Close the connection; with `markOffline`, mark the agent offline for this session id.
        case close(reason: String, markOffline: Bool)
    }

    enum State: Sendable {
        case awaitingHello
        case checkingRevocation(Mesh.Hello)
        case openingSession(Mesh.Hello)
        case active(Active)
        /// Closing for a drain: waits for in-flight commits (at most until the deadline), then Goodbye.
        case draining(Active, deadline: MeshTime)
        case closed
    }

    struct Active: Sendable {
        var lastHeard: MeshTime
        var inFlight: Set<UInt64> = []
        /// The revision of each test last pushed; nil until the snapshot went out.
        var pushed: [TestID: Int]?
        var readingAssignments = false
        var readAgain = false
    }

    let configuration: Configuration
    let peer: Peer
    private(set) var state: State = .awaitingHello
    /// The other servers a drain Goodbye sends the agent to.
    private var drainRedirect: [String] = []

    init(configuration: Configuration, peer: Peer) {
        self.configuration = configuration
        self.peer = peer
    }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    mutating func handle(_ event: Event) -> [Action] {
        switch (state, event) {
        case (.closed, _):
            return []
        case (_, .connectionEnded(let reason)):
            return close(reason)
        case (_, .undecodableFrame(let error)):
            let code: Mesh.ErrorMessage.Code =
                switch error.code {
                case .frameTooLarge: .frameTooLarge
                case .unknownFlags, .compressionUnsupported: .unknownFlags
                default: .malformedFrame
                }
            return [.send([.error(.init(code: code, message: error.message, fatal: true))])]
                + close("protocol error: \(error.message)")
        case (.awaitingHello, .message(let message, _)):
            return hello(message)
        case (.checkingRevocation(let hello), .revocationChecked(let revoked, let now)):
            guard !revoked else {
                return [
                    .send([
                        fatal(
                            .revoked,
                            "agent \(peer.agent) (certificate \(peer.serial)) was revoked by an administrator: "
                                + "provision a new certificate under a new name to bring this host back"
                        )
                    ])
                ] + close("revoked agent tried to connect; refused")
            }
            state = .openingSession(hello)
            return [
                .openSession(
                    SessionStart(
                        agent: peer.agent,
                        sessionID: peer.sessionID,
                        agentVersion: hello.agentVersion,
                        host: hello.host,
                        at: now.wall,
                        certificateSerial: peer.serial,
                        serverID: configuration.serverID
                    )
                )
            ]
        case (.checkingRevocation, .revocationCheckFailed(let reason)):
            return [
                .log(.error, "cannot check whether the agent is revoked; refusing it for now: \(reason)", [:]),
                .send([fatal(.storeUnavailable, "server store unavailable; retry later")]),
            ] + close("store unavailable at admission")
        case (.openingSession(let hello), .sessionOpened(let lastBatchID, let now)):
            state = .active(Active(lastHeard: now, readingAssignments: true))
            let welcome = Mesh.Welcome(
                sessionID: peer.sessionID,
                agentName: peer.agent.rawValue,
                heartbeatInterval: configuration.heartbeatInterval,
                serverTime: now.wall,
                serverVersion: configuration.serverVersion,
                maxFrameBytes: configuration.maxFrameBytes,
                maxInFlightBatches: configuration.maxInFlightBatches,
                responderKey: configuration.responderKey,
                lastBatchID: lastBatchID
            )
            return [
                .send([.welcome(welcome)]),
                .log(
                    .info,
                    "agent connected",
                    ["swarm.agent.version": "\(hello.agentVersion)", "swarm.spool.depth": "\(hello.spoolDepth)"]
                ),
                .readAssignments(peer.agent),
            ]
        case (.openingSession, .sessionOpenFailed(let reason)):
            return [
                .log(.error, "could not open a session for the agent: \(reason)", [:]),
                .send([fatal(.storeUnavailable, "server store unavailable; retry later")]),
            ] + close("store unavailable at session start")
        case (.active(var active), .message(let message, let now)):
            active.lastHeard = now
            return withActive(&active) { machine, active in machine.receive(message, at: now, active: &active) }
        case (.draining(var active, let deadline), .message(let message, let now)):
            active.lastHeard = now
            return withDraining(&active, deadline) { machine, active in
                machine.receive(message, at: now, active: &active)
            }
        case (.active(var active), .reconcileRequested):
            return withActive(&active) { machine, active in machine.requestRead(&active) }
        case (.active(var active), .assignmentsRead(let assignments)):
            return withActive(&active) { machine, active in machine.push(assignments, active: &active) }
        case (.active(var active), .assignmentsReadFailed(let reason)):
            return withActive(&active) { machine, active in
                active.readingAssignments = false
                var actions: [Action] = [.log(.warning, "could not push assignments: \(reason)", [:])]
                if active.readAgain { actions += machine.requestRead(&active) }
                return actions
            }
        case (.active(var active), .batchCommitted(let result)):
            return withActive(&active) { machine, active in machine.committed(result, active: &active) }
        case (.draining(var active, let deadline), .batchCommitted(let result)):
            return withDraining(&active, deadline) { machine, active in machine.committed(result, active: &active) }
        case (.active(var active), .batchIDReused(let batchID, let last)):
            return withActive(&active) { machine, active in machine.reused(batchID, last: last, active: &active) }
        case (.draining(var active, let deadline), .batchIDReused(let batchID, let last)):
            return withDraining(&active, deadline) { machine, active in
                machine.reused(batchID, last: last, active: &active)
            }
        case (.active(var active), .batchCommitFailed(let batchID, let reason)):
            return withActive(&active) { _, active in Self.commitFailed(batchID, reason, active: &active) }
        case (.draining(var active, let deadline), .batchCommitFailed(let batchID, let reason)):
            return withDraining(&active, deadline) { _, active in Self.commitFailed(batchID, reason, active: &active) }
        case (.active(let active), .closeRequested(.drain, let now, let redirect)):
            drainRedirect = redirect
            let deadline = now + configuration.drainTimeout
            state = .draining(active, deadline: deadline)
            return active.inFlight.isEmpty ? drainGoodbye() : [.wake(at: deadline)]
        case (.active, .closeRequested(.replaced, _, _)), (.draining, .closeRequested(.replaced, _, _)):
            return goodbye(.init(reason: .replaced, message: "a newer session for this agent took over"))
        case (.active, .closeRequested(.revoked, _, _)), (.draining, .closeRequested(.revoked, _, _)):
            return goodbye(.init(reason: .shutdown, message: "this agent's certificate was revoked"))
        case (.active(let active), .tick(let now)):
            let silent = now - active.lastHeard
            guard silent > configuration.heartbeatInterval * 3 else { return [] }
            return [.log(.notice, "agent silent for \(silent) (3 heartbeat intervals); marking it offline", [:])]
                + close("agent silent for 3 heartbeat intervals")
        case (.draining(_, let deadline), .tick(let now)):
            return now < deadline ? [] : drainGoodbye()
        case (.awaitingHello, .closeRequested), (.checkingRevocation, .closeRequested),
            (.openingSession, .closeRequested):
            return close("closed before the session opened")
        default:
            // Store answers for a phase already left, ticks before the session opened, reconcile
            // requests while draining: nothing to do.
            return []
        }
    }

    // MARK: - Hello

    private mutating func hello(_ message: MeshMessage) -> [Action] {
        guard case .hello(let hello) = message else {
            return [
                .send([fatal(.unexpectedMessage, "the first frame of a session must be Hello")]),
                .log(.notice, "agent did not open with Hello; closing", [:]),
            ] + close("agent did not open with Hello")
        }
        guard hello.protocolVersion == meshProtocolVersion else {
            return [
                .send([
                    fatal(
                        .unsupportedProtocolVersion,
                        "this server speaks mesh protocol \(meshProtocolVersion); agent sent \(hello.protocolVersion): "
                            + "upgrade the agent or the server so they match"
                    )
                ])
            ] + close("agent speaks protocol \(hello.protocolVersion); refused")
        }
        state = .checkingRevocation(hello)
        return [.checkRevocation(peer.agent, serial: peer.serial)]
    }

    // MARK: - Active session

    private mutating func receive(_ message: MeshMessage, at now: MeshTime, active: inout Active) -> [Action] {
        switch message {
        case .heartbeat(let heartbeat):
            let ack = Mesh.HeartbeatAck(
                sequence: heartbeat.sequence,
                agentSentAt: heartbeat.sentAt,
                serverReceivedAt: now.wall,
                serverSentAt: now.wall
            )
            return [
                .recordStatus(AgentStatusUpdate(agent: peer.agent, lastSeen: now.wall, load: heartbeat.load)),
                .send([.heartbeatAck(ack)]),
            ]
        case .resultBatch(let batch):
            return admit(batch, active: &active)
        case .assignmentAck(let ack):
            guard !ack.accepted else { return [] }
            return [
                .log(
                    .warning,
                    "agent rejected test \(ack.testID) revision \(ack.revision): \(ack.reason)",
                    [LogKey.testID.rawValue: "\(ack.testID)"]
                )
            ]
        case .goodbye(let goodbye):
            return close("agent said Goodbye (\(goodbye.reason)): \(goodbye.message)")
        case .error(let error):
            let log = Action.log(.notice, "agent reported an error: \(error.message)", [:])
            return error.fatal ? [log] + close("agent reported a fatal error") : [log]
        case .hello, .welcome, .heartbeatAck, .assignment, .cancel, .batchAck:
            return [.send([fatal(.unexpectedMessage, "an agent may not send this message during a session")])]
                + close("agent sent an unexpected message")
        }
    }

    // MARK: - Assignments: a snapshot first, then differences

    /// One read at a time: a request during a read is remembered and served after it.
    private func requestRead(_ active: inout Active) -> [Action] {
        guard !active.readingAssignments else {
            active.readAgain = true
            return []
        }
        active.readingAssignments = true
        active.readAgain = false
        return [.readAssignments(peer.agent)]
    }

    private func push(_ assignments: [TestAssignment], active: inout Active) -> [Action] {
        active.readingAssignments = false
        var messages: [MeshMessage] = []
        let current = Dictionary(assignments.map { ($0.testID, $0.revision) }, uniquingKeysWith: { _, last in last })
        if let pushed = active.pushed {
            for assignment in assignments where pushed[assignment.testID] != assignment.revision {
                messages.append(.assignment(.init(assignment: assignment)))
            }
            for (testID, revision) in pushed.sorted(by: { $0.key < $1.key }) where current[testID] == nil {
                messages.append(
                    .cancel(.init(testID: testID, revision: revision, reason: "test cancelled or unassigned"))
                )
            }
        } else {
            for (index, assignment) in assignments.enumerated() {
                messages.append(
                    .assignment(
                        .init(assignment: assignment, snapshot: true, lastOfSnapshot: index == assignments.count - 1)
                    )
                )
            }
            if assignments.isEmpty {
                messages.append(.assignment(.init(assignment: nil, snapshot: true, lastOfSnapshot: true)))
            }
        }
        let snapshot = active.pushed == nil
        active.pushed = current
        var actions: [Action] = []
        if !messages.isEmpty {
            actions.append(.send(messages))
            actions.append(.log(.debug, "pushed \(messages.count) assignment messages (snapshot: \(snapshot))", [:]))
        }
        if active.readAgain { actions += requestRead(&active) }
        return actions
    }

    // MARK: - Closing

    private mutating func goodbye(_ goodbye: Mesh.Goodbye) -> [Action] {
        [.send([.goodbye(goodbye)]), .log(.info, "closing session: \(goodbye.message)", [:])]
            + close(goodbye.message)
    }

    private mutating func drainGoodbye() -> [Action] {
        goodbye(
            .init(
                reason: .drain,
                message: "server is shutting down",
                reconnectAfter: .seconds(1),
                redirect: drainRedirect
            )
        )
    }

    private mutating func close(_ reason: String) -> [Action] {
        let opened: Bool
        switch state {
        case .active, .draining: opened = true
        default: opened = false
        }
        state = .closed
        return [.close(reason: reason, markOffline: opened)]
    }

    private func fatal(_ code: Mesh.ErrorMessage.Code, _ message: String) -> MeshMessage {
        .error(.init(code: code, message: message, fatal: true))
    }

    /// Runs `body` on the active state and stores it back, unless `body` closed the session.
    private mutating func withActive(
        _ active: inout Active,
        _ body: (inout MeshSessionStateMachine, inout Active) -> [Action]
    ) -> [Action] {
        state = .active(active)
        let actions = body(&self, &active)
        if case .active = state { state = .active(active) }
        return actions
    }

    /// Like `withActive` for a draining session: says Goodbye once the last in-flight commit ended.
    private mutating func withDraining(
        _ active: inout Active,
        _ deadline: MeshTime,
        _ body: (inout MeshSessionStateMachine, inout Active) -> [Action]
    ) -> [Action] {
        state = .draining(active, deadline: deadline)
        var actions = body(&self, &active)
        guard case .draining = state else { return actions }
        state = .draining(active, deadline: deadline)
        if active.inFlight.isEmpty { actions += drainGoodbye() }
        return actions
    }
}
