import Logging
import NIOCore
import ServiceLifecycle
import SwarmCore
import SwarmProbes
import SwarmWire
import Synchronization

/// An established session: reads server frames, sends heartbeats and result batches within the
/// window the server allows, and drops a batch from the spool only when its ack arrives.
struct LiveSession {
    let owner: AgentSession
    let outbound: NIOAsyncChannelOutboundWriter<MeshFrame>
    let channel: any Channel
    let window: Int
    /// Largest batch payload: a margin below the server's frame limit.
    let maxBatchBytes: Int
    let heartbeatInterval: Duration
    let logger: Logger

    final class State: Sendable {
        struct Values {
            var inFlight: [UInt64: Int] = [:]
            var lastHeard = ContinuousClock.now
            var heartbeatSequence: UInt64 = 0
            var snapshot: [TestAssignment] = []
        }
        let values = Mutex(Values())
    }

    /// Runs until the connection ends. Returns the wait before reconnecting when the server said.
    func run(
        frames: inout NIOAsyncChannelInboundStream<MeshFrame>.AsyncIterator,
        doorbell: Doorbell
    ) async throws
        -> Duration?
    {
        let state = State()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await sendBatches(state: state, doorbell: doorbell) }
            group.addTask { try await heartbeats(state: state) }
            group.addTask {
                // On graceful shutdown say Goodbye, so the server marks the agent offline at once
                // instead of after three missed heartbeats.
                try await gracefulShutdown()
                try? await send(.goodbye(Mesh.Goodbye(reason: .shutdown, message: "agent shutting down")))
                channel.close(promise: nil)
            }
            defer { group.cancelAll() }
            return try await readLoop(frames: &frames, state: state, doorbell: doorbell)
        }
    }

    private func readLoop(
        frames: inout NIOAsyncChannelInboundStream<MeshFrame>.AsyncIterator,
        state: State,
        doorbell: Doorbell
    ) async throws -> Duration? {
        while let frame = try await frames.next() {
            state.values.withLock { $0.lastHeard = .now }
            switch try MeshCodec.decode(frame) {
            case .assignment(let message):
                try await handleAssignment(message, state: state)
            case .cancel(let cancel):
                owner.runner.stop(cancel.testID)
                logger.info("test \(cancel.testID) cancelled by the server: \(cancel.reason)")
                try await send(.assignmentAck(.init(testID: cancel.testID, revision: cancel.revision, accepted: true)))
            case .batchAck(let ack):
                try await owner.spool.acknowledge(ack.batchID)
                let count = state.values.withLock { $0.inFlight.removeValue(forKey: ack.batchID) } ?? 0
                owner.recordAck(measurements: count)
                doorbell.ring()
            case .heartbeatAck(let ack):
                let rtt = Timestamp.now() - ack.agentSentAt
                logger.trace("heartbeat \(ack.sequence) round trip \(rtt)")
            case .goodbye(let goodbye):
                logger.info("server said Goodbye (\(goodbye.reason)): \(goodbye.message)")
                switch goodbye.reason {
                case .replaced: return owner.configuration.reconnectCap
                default: return goodbye.reconnectAfter > .zero ? goodbye.reconnectAfter : nil
                }
            case .error(let error):
                if error.fatal { throw AgentError(message: "server closed the session: \(error.message)") }
                if error.code == .batchIDReused {
                    // The id was stored before with other measurements: send these under a new one.
                    state.values.withLock { _ = $0.inFlight.removeValue(forKey: error.batchID) }
                    if let batch = try await owner.spool.renumber(error.batchID, above: error.lastBatchID) {
                        logger.warning(
                            "batch id \(error.batchID) was already used on the server; resending as \(batch.id)"
                        )
                        try await send(batch, state: state)
                    }
                    doorbell.ring()
                    continue
                }
                if error.code == .invalidBatch {
                    // The server will never take this batch; keeping it would replay it forever.
                    let dropped = try await owner.spool.discard(error.batchID)
                    state.values.withLock { _ = $0.inFlight.removeValue(forKey: error.batchID) }
                    logger.error(
                        "server refused batch \(error.batchID) as invalid (\(error.message)); dropped its \(dropped) measurements"
                    )
                    doorbell.ring()
                    continue
                }
                // A batch the server could not take now: reconnect, which replays every unacked batch.
                logger.warning("server reported: \(error.message); reconnecting to replay unacknowledged batches")
                return .seconds(1)
            case .hello, .welcome, .heartbeat, .assignmentAck, .resultBatch:
                throw AgentError(message: "server sent an unexpected \(frame.payload.readableBytes)-byte message")
            }
        }
        return nil
    }

    private func handleAssignment(_ message: Mesh.Assignment, state: State) async throws {
        if let assignment = message.assignment {
            let unsupported = ProbeRunner.unsupportedKinds(in: assignment.spec)
            if !unsupported.isEmpty {
                let names = unsupported.map(\.rawValue).joined(separator: ", ")
                logger.warning("rejecting test \(assignment.testID): this agent cannot run \(names)")
                try await send(
                    .assignmentAck(
                        .init(
                            testID: assignment.testID,
                            revision: assignment.revision,
                            accepted: false,
                            reason: "this agent build cannot run probe kind(s) \(names) yet"
                        )
                    )
                )
            } else {
                if message.snapshot {
                    state.values.withLock { $0.snapshot.append(assignment) }
                } else {
                    owner.runner.apply(assignment)
                }
                try await send(
                    .assignmentAck(.init(testID: assignment.testID, revision: assignment.revision, accepted: true))
                )
            }
        }
        if message.snapshot && message.lastOfSnapshot {
            let snapshot = state.values.withLock { values in
                defer { values.snapshot.removeAll() }
                return values.snapshot
            }
            owner.runner.reconcile(snapshot: snapshot)
            logger.info("assignments reconciled: \(snapshot.count) active tests")
        }
    }

    /// Replays unacknowledged batches, then sends new ones as measurements are spooled.
    private func sendBatches(state: State, doorbell: Doorbell) async throws {
        // Batches formed under a larger limit than this server's would be refused on every replay.
        let dissolved = try await owner.spool.dissolveBatches(largerThan: maxBatchBytes)
        if dissolved > 0 {
            logger.notice("re-forming \(dissolved) unacknowledged batches to fit \(maxBatchBytes) bytes")
        }
        for batch in try await owner.spool.unacknowledgedBatches() {
            try await waitForWindow(state: state, doorbell: doorbell)
            try await send(batch, state: state)
        }
        while !Task.isCancelled {
            try await waitForWindow(state: state, doorbell: doorbell)
            if let batch = try await owner.spool.formBatch(
                maxMeasurements: owner.configuration.maxBatchMeasurements,
                maxBytes: maxBatchBytes
            ) {
                try await send(batch, state: state)
            } else {
                await doorbell.wait()
            }
        }
    }

    private func waitForWindow(state: State, doorbell: Doorbell) async throws {
        while state.values.withLock({ $0.inFlight.count }) >= window {
            await doorbell.wait()
            try Task.checkCancellation()
        }
    }

    private func send(_ batch: Spool.Batch, state: State) async throws {
        state.values.withLock { $0.inFlight[batch.id] = batch.measurements.count }
        let frame = try MeshCodec.encodeResultBatch(
            batchID: batch.id,
            encodedMeasurements: batch.measurements,
            createdAt: .now()
        )
        try await outbound.write(frame)
    }

    private func heartbeats(state: State) async throws {
        var cpuSample: ProcFS.CPUTimes?
        while true {
            try await Task.sleep(for: heartbeatInterval)
            let silent = ContinuousClock.now - state.values.withLock { $0.lastHeard }
            if silent > heartbeatInterval * 3 {
                logger.warning("server silent for \(silent) (3 heartbeat intervals); reconnecting")
                channel.close(promise: nil)
                return
            }
            let sequence = state.values.withLock { values in
                values.heartbeatSequence += 1
                return values.heartbeatSequence
            }
            let (load1, cpuPercent, memoryUsed) = HostFactsReader.load(previous: &cpuSample)
            let depth = (try? await owner.spool.depth()) ?? 0
            let load = LoadSnapshot(
                load1: load1,
                cpuPercent: cpuPercent ?? 0,
                memoryUsedBytes: memoryUsed,
                spoolDepth: UInt64(depth),
                testsRunning: owner.runner.assignments.count,
                batchesInFlight: state.values.withLock { $0.inFlight.count }
            )
            try await send(.heartbeat(Mesh.Heartbeat(sequence: sequence, sentAt: .now(), load: load)))
        }
    }

    private func send(_ message: MeshMessage) async throws {
        try await outbound.write(MeshCodec.encode(message))
    }
}
