import Foundation
import Logging
import NIOCore
import SwarmCore
import SwarmPKI
import SwarmStore
import SwarmWire
import Synchronization

/// One agent connection, from admission to close: Hello → Welcome → active → draining → closed.
///
/// The reader loop handles frames in order; test pushes, liveness and batch commits run beside it in
/// child tasks. Every path ends by marking the agent offline (unless a newer session replaced it).
struct MeshSession {
    let server: MeshServer
    let channel: NIOAsyncChannel<MeshFrame, MeshFrame>
    let identity: EventLoopFuture<PeerIdentity>

    /// Mutable state shared by the session's tasks; lock scopes are short and never await.
    final class State: Sendable {
        struct Values {
            var lastHeard = ContinuousClock.now
            var inFlightBatches = 0
            var sent: [TestID: Int] = [:]
            var sentSnapshot = false
        }
        let values = Mutex(Values())
    }

    func run() async {
        var logger = server.logger
        logger[metadataKey: LogKey.peerAddress.rawValue] = "\(channel.channel.remoteAddress?.description ?? "?")"
        // Handshake and Hello must both complete within the Hello timeout.
        let raw = channel.channel
        let helloTimer = raw.eventLoop.scheduleTask(in: .nanoseconds(server.configuration.helloTimeout.nanoseconds)) {
            raw.close(promise: nil)
        }
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await serve(inbound: inbound, outbound: outbound, helloTimer: helloTimer, logger: &logger)
            }
        } catch let error as WireError {
            logger.notice("mesh connection closed after a protocol error: \(error.message)")
        } catch {
            logger.notice("mesh connection ended: \(error)")
        }
        helloTimer.cancel()
    }

    private func serve(
        inbound: NIOAsyncChannelInboundStream<MeshFrame>,
        outbound: NIOAsyncChannelOutboundWriter<MeshFrame>,
        helloTimer: Scheduled<Void>,
        logger: inout Logger
    ) async throws {
        let peer: PeerIdentity
        do {
            peer = try await identity.get()
        } catch {
            return  // The admission handler or TLS already said why and logged it.
        }
        logger[metadataKey: LogKey.agent.rawValue] = "\(peer.agent)"
        var frames = inbound.makeAsyncIterator()
        let first: MeshFrame
        do {
            guard let frame = try await frames.next() else {
                logger.notice("agent closed the connection before saying Hello")
                return
            }
            first = frame
        } catch {
            try? await sendError(outbound, error, logger: logger)
            throw error
        }
        let opening: MeshMessage
        do {
            opening = try MeshCodec.decode(first)
        } catch {
            try? await sendError(outbound, error, logger: logger)
            return
        }
        guard case .hello(let hello) = opening else {
            try await send(
                outbound,
                .error(
                    .init(code: .unexpectedMessage, message: "the first frame of a session must be Hello", fatal: true)
                )
            )
            logger.notice("agent did not open with Hello; closing")
            return
        }
        helloTimer.cancel()
        guard hello.protocolVersion == meshProtocolVersion else {
            try await send(
                outbound,
                .error(
                    .init(
                        code: .unsupportedProtocolVersion,
                        message:
                            "this server speaks mesh protocol \(meshProtocolVersion); agent sent \(hello.protocolVersion): "
                            + "upgrade the agent or the server so they match",
                        fatal: true
                    )
                )
            )
            logger.notice("agent speaks protocol \(hello.protocolVersion); refused")
            return
        }

        // An admin may have revoked this agent through the gateway (the store is the shared truth).
        // Fail closed: when the store cannot say, the agent is not admitted.
        let revoked: Bool
        do {
            revoked = try await server.store.isRevoked(peer.agent, serial: peer.serial)
        } catch {
            logger.error("cannot check whether the agent is revoked; refusing it for now: \(error)")
            try? await send(
                outbound,
                .error(.init(code: .storeUnavailable, message: "server store unavailable; retry later", fatal: true))
            )
            return
        }
        if revoked {
            try await send(
                outbound,
                .error(
                    .init(
                        code: .revoked,
                        message: "agent \(peer.agent) (certificate \(peer.serial)) was revoked by an administrator: "
                            + "provision a new certificate under a new name to bring this host back",
                        fatal: true
                    )
                )
            )
            logger.notice("revoked agent tried to connect; refused")
            return
        }

        let sessionID = UUID().uuidString.lowercased()
        logger[metadataKey: LogKey.sessionID.rawValue] = "\(sessionID)"
        let handle = SessionHandle(agent: peer.agent, sessionID: sessionID, certificateSerial: peer.serial)
        if server.registry.register(handle) != nil {
            logger.info("agent reconnected; the older session is replaced")
        }
        let logger = logger
        defer { server.registry.remove(handle) }
        do {
            try await server.store.recordSessionStart(
                SessionStart(
                    agent: peer.agent,
                    sessionID: sessionID,
                    agentVersion: hello.agentVersion,
                    host: hello.host,
                    at: .now(),
                    certificateSerial: peer.serial
                )
            )
            try await send(
                outbound,
                .welcome(
                    Mesh.Welcome(
                        sessionID: sessionID,
                        agentName: peer.agent.rawValue,
                        heartbeatInterval: server.configuration.heartbeatInterval,
                        serverTime: .now(),
                        serverVersion: server.configuration.serverVersion,
                        maxFrameBytes: server.configuration.maxFrameBytes,
                        maxInFlightBatches: server.configuration.maxInFlightBatches,
                        responderKey: server.configuration.responderKey,
                        lastBatchID: try await server.store.lastBatchID(of: peer.agent)
                    )
                )
            )
        } catch {
            logger.error("could not open a session for the agent: \(error)")
            try? await send(
                outbound,
                .error(.init(code: .storeUnavailable, message: "server store unavailable; retry later", fatal: true))
            )
            return
        }
        logger.info(
            "agent connected",
            metadata: ["swarm.agent.version": "\(hello.agentVersion)", "swarm.spool.depth": "\(hello.spoolDepth)"]
        )

        let state = State()
        let end = await withDiscardingTaskGroup { group -> String in
            group.addTask { await controlLoop(handle: handle, state: state, outbound: outbound, logger: logger) }
            group.addTask { await watchdog(state: state, logger: logger) }
            handle.send(.reconcile)
            let end = await readLoop(
                frames: &frames,
                peer: peer,
                state: state,
                outbound: outbound,
                group: &group,
                logger: logger
            )
            group.cancelAll()
            return end
        }
        handle.finish()
        logger.info("agent session ended: \(end)")
        do {
            try await server.store.markOffline(peer.agent, sessionID: sessionID, at: .now())
        } catch  where Task.isCancelled {
            // The server is being torn down hard (not drained); the next session start corrects the state.
            logger.debug("agent not marked offline: the server task was cancelled")
        } catch {
            logger.warning("could not mark the agent offline: \(error)")
        }
    }

    /// Reads frames until the peer leaves or breaks the protocol; returns why it ended.
    private func readLoop(
        frames: inout NIOAsyncChannelInboundStream<MeshFrame>.AsyncIterator,
        peer: PeerIdentity,
        state: State,
        outbound: NIOAsyncChannelOutboundWriter<MeshFrame>,
        group: inout DiscardingTaskGroup,
        logger: Logger
    ) async -> String {
        do {
            while let frame = try await frames.next() {
                state.values.withLock { $0.lastHeard = .now }
                switch try MeshCodec.decode(frame) {
                case .heartbeat(let heartbeat):
                    let received = Timestamp.now()
                    server.statusBoard.record(
                        AgentStatusUpdate(agent: peer.agent, lastSeen: received, load: heartbeat.load)
                    )
                    try await send(
                        outbound,
                        .heartbeatAck(
                            Mesh.HeartbeatAck(
                                sequence: heartbeat.sequence,
                                agentSentAt: heartbeat.sentAt,
                                serverReceivedAt: received,
                                serverSentAt: .now()
                            )
                        )
                    )
                case .resultBatch(let batch):
                    if let reason = batch.invalidReason {
                        logger.notice(
                            "refused invalid batch \(batch.batchID): \(reason)",
                            metadata: [LogKey.batchID.rawValue: "\(batch.batchID)"]
                        )
                        try await send(
                            outbound,
                            .error(
                                .init(
                                    code: .invalidBatch,
                                    message:
                                        "batch \(batch.batchID) refused: \(reason); it will never be stored, drop it",
                                    fatal: false,
                                    batchID: batch.batchID
                                )
                            )
                        )
                        continue
                    }
                    let admitted = state.values.withLock { values -> Bool in
                        guard values.inFlightBatches < server.configuration.maxInFlightBatches else { return false }
                        values.inFlightBatches += 1
                        return true
                    }
                    guard admitted else {
                        logger.notice("agent exceeded its in-flight batch window; batch \(batch.batchID) refused")
                        try await send(
                            outbound,
                            .error(
                                .init(
                                    code: .tooManyInFlight,
                                    message:
                                        "more than \(server.configuration.maxInFlightBatches) batches unacknowledged; "
                                        + "wait for acks before sending more",
                                    fatal: false,
                                    batchID: batch.batchID
                                )
                            )
                        )
                        continue
                    }
                    let incoming = IncomingBatch(
                        agent: peer.agent,
                        batchID: batch.batchID,
                        measurements: batch.measurements.map { $0.record(agent: peer.agent) }
                    )
                    group.addTask {
                        await commit(incoming, state: state, outbound: outbound, logger: logger)
                    }
                case .assignmentAck(let ack):
                    if !ack.accepted {
                        logger.warning(
                            "agent rejected test \(ack.testID) revision \(ack.revision): \(ack.reason)",
                            metadata: [LogKey.testID.rawValue: "\(ack.testID)"]
                        )
                    }
                case .goodbye(let goodbye):
                    return "agent said Goodbye (\(goodbye.reason)): \(goodbye.message)"
                case .error(let error):
                    logger.notice("agent reported an error: \(error.message)")
                    if error.fatal { return "agent reported a fatal error" }
                case .hello, .welcome, .heartbeatAck, .assignment, .cancel, .batchAck:
                    try await send(
                        outbound,
                        .error(
                            .init(
                                code: .unexpectedMessage,
                                message: "an agent may not send this message during a session",
                                fatal: true
                            )
                        )
                    )
                    return "agent sent an unexpected message"
                }
            }
            return "connection closed"
        } catch let error as WireError {
            try? await sendError(outbound, error, logger: logger)
            return "protocol error: \(error.message)"
        } catch {
            return "connection error: \(error)"
        }
    }

    private func commit(
        _ batch: IncomingBatch,
        state: State,
        outbound: NIOAsyncChannelOutboundWriter<MeshFrame>,
        logger: Logger
    ) async {
        defer { state.values.withLock { $0.inFlightBatches -= 1 } }
        do {
            let result = try await server.ingest.commit(batch)
            if result.rejectedCount > 0 {
                logger.notice(
                    "batch \(batch.batchID): \(result.rejectedCount) measurements dropped: their tests are not assigned to this agent",
                    metadata: [LogKey.batchID.rawValue: "\(batch.batchID)"]
                )
            }
            if result.idReused {
                // Acking would make the agent delete measurements that were never stored.
                let last = try await server.store.lastBatchID(of: batch.agent)
                logger.warning(
                    "batch \(batch.batchID) re-uses an id stored before with other measurements; the agent renumbers it",
                    metadata: [LogKey.batchID.rawValue: "\(batch.batchID)"]
                )
                try await send(
                    outbound,
                    .error(
                        .init(
                            code: .batchIDReused,
                            message: "batch id \(batch.batchID) was stored before with other measurements; "
                                + "renumber the batch above \(last) and send it again",
                            fatal: false,
                            batchID: batch.batchID,
                            lastBatchID: last
                        )
                    )
                )
                return
            }
            if result.duplicate {
                logger.debug("batch \(batch.batchID) replayed; acked again, stored once")
            }
            try await send(
                outbound,
                .batchAck(
                    Mesh.BatchAck(batchID: batch.batchID, storedCount: result.storedCount, duplicate: result.duplicate)
                )
            )
        } catch {
            logger.error("batch \(batch.batchID) could not be stored: \(error)")
            try? await send(
                outbound,
                .error(
                    .init(
                        code: .storeUnavailable,
                        message: "batch \(batch.batchID) was not stored; keep it and resend later",
                        fatal: false,
                        batchID: batch.batchID
                    )
                )
            )
        }
    }

    /// Pushes assignments (a snapshot first, then differences) and handles close requests.
    private func controlLoop(
        handle: SessionHandle,
        state: State,
        outbound: NIOAsyncChannelOutboundWriter<MeshFrame>,
        logger: Logger
    ) async {
        for await control in handle.controls {
            switch control {
            case .reconcile:
                do {
                    try await reconcile(agent: handle.agent, state: state, outbound: outbound, logger: logger)
                } catch  where Task.isCancelled {
                    return
                } catch {
                    logger.warning("could not push assignments: \(error)")
                }
            case .close(let reason):
                let goodbye: Mesh.Goodbye
                switch reason {
                case .replaced:
                    goodbye = Mesh.Goodbye(reason: .replaced, message: "a newer session for this agent took over")
                case .drain:
                    let deadline = ContinuousClock.now + server.configuration.drainTimeout
                    while state.values.withLock({ $0.inFlightBatches }) > 0, ContinuousClock.now < deadline {
                        try? await Task.sleep(for: .milliseconds(10))
                    }
                    goodbye = Mesh.Goodbye(
                        reason: .drain,
                        message: "server is shutting down",
                        reconnectAfter: .seconds(1)
                    )
                case .revoked:
                    goodbye = Mesh.Goodbye(reason: .shutdown, message: "this agent's certificate was revoked")
                }
                try? await send(outbound, .goodbye(goodbye))
                logger.info("closing session: \(goodbye.message)")
                channel.channel.close(promise: nil)
                return
            }
        }
    }

    private func reconcile(
        agent: AgentName,
        state: State,
        outbound: NIOAsyncChannelOutboundWriter<MeshFrame>,
        logger: Logger
    ) async throws {
        let assignments = try await DeviceTargets.resolve(
            try await MeshTargets.resolve(try await server.store.activeAssignments(for: agent), store: server.store),
            store: server.store,
            vault: server.configuration.deviceVault,
            logger: logger
        )
        let (messages, snapshot) = state.values.withLock { values -> ([MeshMessage], Bool) in
            var messages: [MeshMessage] = []
            let current = Dictionary(uniqueKeysWithValues: assignments.map { ($0.testID, $0.revision) })
            if !values.sentSnapshot {
                for (index, assignment) in assignments.enumerated() {
                    messages.append(
                        .assignment(
                            .init(
                                assignment: assignment,
                                snapshot: true,
                                lastOfSnapshot: index == assignments.count - 1
                            )
                        )
                    )
                }
                if assignments.isEmpty {
                    messages.append(.assignment(.init(assignment: nil, snapshot: true, lastOfSnapshot: true)))
                }
                values.sentSnapshot = true
                values.sent = current
                return (messages, true)
            }
            for assignment in assignments where values.sent[assignment.testID] != assignment.revision {
                messages.append(.assignment(.init(assignment: assignment)))
            }
            for (testID, revision) in values.sent where current[testID] == nil {
                messages.append(
                    .cancel(.init(testID: testID, revision: revision, reason: "test cancelled or unassigned"))
                )
            }
            values.sent = current
            return (messages, false)
        }
        guard !messages.isEmpty else { return }
        let frames = try messages.map { try MeshCodec.encode($0) }
        try await outbound.write(contentsOf: frames)
        logger.debug("pushed \(messages.count) assignment messages (snapshot: \(snapshot))")
    }

    /// Closes the session when the agent has been silent for 3 heartbeat intervals.
    private func watchdog(state: State, logger: Logger) async {
        let interval = server.configuration.heartbeatInterval
        while true {
            do { try await Task.sleep(for: interval) } catch { return }
            let silent = ContinuousClock.now - state.values.withLock { $0.lastHeard }
            if silent > interval * 3 {
                logger.notice("agent silent for \(silent) (3 heartbeat intervals); marking it offline")
                channel.channel.close(promise: nil)
                return
            }
        }
    }

    private func send(_ outbound: NIOAsyncChannelOutboundWriter<MeshFrame>, _ message: MeshMessage) async throws {
        try await outbound.write(MeshCodec.encode(message))
    }

    private func sendError(
        _ outbound: NIOAsyncChannelOutboundWriter<MeshFrame>,
        _ error: any Error,
        logger: Logger
    ) async throws {
        guard let wire = error as? WireError else { return }
        let code: Mesh.ErrorMessage.Code =
            switch wire.code {
            case .frameTooLarge: .frameTooLarge
            case .unknownFlags, .compressionUnsupported: .unknownFlags
            default: .malformedFrame
            }
        logger.notice("closing mesh connection: \(wire.message)")
        try await send(outbound, .error(.init(code: code, message: wire.message, fatal: true)))
    }
}
