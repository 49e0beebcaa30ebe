import Logging
import NIOCore
import ServiceLifecycle
import SwarmCore
import SwarmProbes
import SwarmWire
import Synchronization

/// One connected session: the I/O around an ``AgentSessionStateMachine``.
///
/// The reader feeds server frames in order; the doorbell (measurements spooled), the ticker
/// (heartbeats, liveness) and graceful shutdown feed the same machine from their own tasks. A batch
/// leaves the spool only when its ack arrives.
final class LiveSession: Sendable {
    typealias Machine = AgentSessionStateMachine

    let owner: AgentSession
    let outbound: NIOAsyncChannelOutboundWriter<MeshFrame>
    let channel: any Channel
    /// The server this session is with, for logs.
    let server: ServerAddress
    private let machine: Mutex<Machine>
    private let logger: Mutex<Logger>
    private let cpuSample = Mutex<ProcFS.CPUTimes?>(nil)

    init(
        owner: AgentSession,
        outbound: NIOAsyncChannelOutboundWriter<MeshFrame>,
        channel: any Channel,
        server: ServerAddress,
        configuration: Machine.Configuration,
        logger: Logger
    ) {
        self.owner = owner
        self.outbound = outbound
        self.channel = channel
        self.server = server
        self.machine = Mutex(Machine(configuration: configuration))
        self.logger = Mutex(logger)
    }

    /// Writes `hello`, then runs until the connection ends.
    ///
    /// - Returns: the wait before reconnecting when the server said (nil: use the backoff), and
    ///   where a draining server sent the agent.
    /// - Throws: ``AgentError`` when the session failed, saying why.
    func run(
        hello: Mesh.Hello,
        frames: inout NIOAsyncChannelInboundStream<MeshFrame>.AsyncIterator,
        doorbell: Doorbell,
        welcomeTimeout: Duration
    ) async throws -> Reconnect {
        try await outbound.write(MeshCodec.encode(.hello(hello)))
        await feed(.helloSent(at: .now()))
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(welcomeTimeout.nanoseconds)) {
            channel.close(promise: nil)
        }
        await withDiscardingTaskGroup { group in
            var sideTasksStarted = false
            while true {
                let event: Machine.Event
                do {
                    if let frame = try await frames.next() {
                        event = .message(try MeshCodec.decode(frame), at: .now())
                    } else {
                        event = .connectionEnded
                    }
                } catch let error as WireError {
                    event = .undecodableFrame(error)
                } catch {
                    event = .connectionEnded
                }
                await feed(event)
                if machine.withLock({ $0.outcome }) != nil { break }
                if !sideTasksStarted, case .active(let active) = machine.withLock({ $0.state }) {
                    sideTasksStarted = true
                    timer.cancel()  // Welcome arrived in time
                    let interval = active.terms.heartbeatInterval
                    group.addTask { await self.ticker(every: interval) }
                    group.addTask { await self.watchSpool(doorbell) }
                    group.addTask {
                        // try?: cancellation just means the session ended first.
                        try? await gracefulShutdown()
                        if !Task.isCancelled { await self.feed(.shutdownRequested(at: .now())) }
                    }
                }
            }
            group.cancelAll()
        }
        timer.cancel()
        switch machine.withLock({ $0.outcome }) ?? .reconnect(after: nil) {
        case .reconnect(let after, let redirect): return Reconnect(after: after, redirect: redirect)
        case .failed(let reason): throw AgentError(code: .sessionFailed, message: reason)
        }
    }

    private func feed(_ event: Machine.Event) async {
        var queue = machine.withLock { $0.handle(event) }[...]
        while let action = queue.popFirst() {
            if let next = await perform(action) {
                queue += machine.withLock { $0.handle(next) }
            }
        }
    }

    /// Runs one action; returns the event its outcome is, if it has one.
    private func perform(_ action: Machine.Action) async -> Machine.Event? {
        let logger = self.logger.withLock { $0 }
        do {
            switch action {
            case .send(let messages):
                try await write(messages.map { try MeshCodec.encode($0) })
            case .sendBatch(let batch):
                try await write([
                    try MeshCodec.encodeResultBatch(
                        batchID: batch.id,
                        encodedMeasurements: batch.measurements,
                        createdAt: .now()
                    )
                ])
            case .sendHeartbeat(let sequence, let batchesInFlight):
                let (load1, cpuPercent, memoryUsed) = cpuSample.withLock { HostFactsReader.load(previous: &$0) }
                // try?: the depth is a hint in the heartbeat; a read error changes nothing.
                let depth = (try? await owner.spool.depth()) ?? 0
                let load = LoadSnapshot(
                    load1: load1,
                    cpuPercent: cpuPercent ?? 0,
                    memoryUsedBytes: memoryUsed,
                    spoolDepth: UInt64(depth),
                    testsRunning: owner.runner.assignments.count,
                    batchesInFlight: batchesInFlight
                )
                try await write([
                    try MeshCodec.encode(.heartbeat(Mesh.Heartbeat(sequence: sequence, sentAt: .now(), load: load)))
                ])
            case .startSession(let welcome, _):
                if let key = welcome.responderKey { owner.configuration.keyring.update(key) }
                try await owner.spool.raiseBatchCounter(above: welcome.lastBatchID)
                owner.recordSessionOpened()
                let sessionLogger = self.logger.withLock { logger in
                    logger[metadataKey: "swarm.session.id"] = "\(welcome.sessionID)"
                    return logger
                }
                sessionLogger.info("connected to \(server) as \(welcome.agentName)")
            case .readUnacknowledged(let limit):
                let dissolved = try await owner.spool.dissolveBatches(largerThan: limit)
                if dissolved > 0 {
                    logger.notice("re-forming \(dissolved) unacknowledged batches to fit \(limit) bytes")
                }
                return .unacknowledgedBatches(try await owner.spool.unacknowledgedBatches())
            case .formBatch(let maxMeasurements, let maxBytes):
                return .batchFormed(
                    try await owner.spool.formBatch(maxMeasurements: maxMeasurements, maxBytes: maxBytes)
                )
            case .acknowledge(let batchID, let measurements):
                try await owner.spool.acknowledge(batchID)
                owner.recordAck(measurements: measurements)
            case .discard(let batchID, let reason):
                let dropped = try await owner.spool.discard(batchID)
                logger.error(
                    "server refused batch \(batchID) as invalid (\(reason)); dropped its \(dropped) measurements"
                )
            case .renumber(let batchID, let floor):
                return .batchRenumbered(from: batchID, try await owner.spool.renumber(batchID, above: floor))
            case .apply(let assignment):
                owner.runner.apply(assignment)
            case .reconcile(let snapshot):
                owner.runner.reconcile(snapshot: snapshot)
            case .stop(let testID, let reason):
                owner.runner.stop(testID)
                logger.info("test \(testID) cancelled by the server: \(reason)")
            case .log(let level, let message):
                logger.log(level: level, "\(message)")
            case .wake(let at):
                let wait = at - .now()
                if wait > .zero { try? await Task.sleep(for: wait) }
                return Task.isCancelled ? nil : .tick(.now())
            case .close:
                channel.close(promise: nil)
            }
        } catch {
            return .localFailure("could not \(action.name) (spool \(owner.spool.path)): \(error)")
        }
        return nil
    }

    private func write(_ frames: [MeshFrame]) async throws {
        do {
            try await outbound.write(contentsOf: frames)
        } catch {
            // The connection is going; the reader sees it end.
            logger.withLock { $0 }.debug("could not send to the server: \(error)")
        }
    }

    private func ticker(every interval: Duration) async {
        while machine.withLock({ $0.outcome }) == nil {
            do { try await Task.sleep(for: interval) } catch { return }
            await feed(.tick(.now()))
        }
    }

    private func watchSpool(_ doorbell: Doorbell) async {
        while !Task.isCancelled {
            await doorbell.wait()
            if Task.isCancelled { return }
            await feed(.spoolChanged)
        }
    }
}

/// How the agent reconnects after a session that ended without failing.
struct Reconnect: Sendable {
    /// The wait the server asked for; nil: use the backoff.
    var after: Duration?
    /// A draining server's peers (HOST:PORT), most recently seen first.
    var redirect: [String] = []
}
