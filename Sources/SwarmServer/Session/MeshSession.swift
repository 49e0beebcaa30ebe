import Foundation
import Logging
import NIOCore
import SwarmCore
import SwarmPKI
import SwarmStore
import SwarmWire
import Synchronization

/// One agent connection, from admission to close: the I/O around a ``MeshSessionStateMachine``.
///
/// The reader loop feeds frames in order; control requests (reconcile, close), liveness ticks and
/// batch commits run beside it in child tasks and feed their outcomes to the same machine. Every
/// path ends by marking the agent offline when the session had opened (unless a newer one replaced it).
struct MeshSession {
    typealias Machine = MeshSessionStateMachine

    let server: MeshServer
    let channel: NIOAsyncChannel<MeshFrame, MeshFrame>
    let identity: EventLoopFuture<PeerIdentity>

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
                await serve(inbound: inbound, outbound: outbound, helloTimer: helloTimer, logger: &logger)
            }
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
    ) async {
        guard let peer = try? await identity.get() else {
            return  // The admission handler or TLS already said why and logged it.
        }
        let sessionID = UUID().uuidString.lowercased()
        logger[metadataKey: LogKey.agent.rawValue] = "\(peer.agent)"
        logger[metadataKey: LogKey.sessionID.rawValue] = "\(sessionID)"
        let config = server.configuration
        let driver = Driver(
            server: server,
            channel: channel.channel,
            outbound: outbound,
            machine: Machine(
                configuration: .init(
                    heartbeatInterval: config.heartbeatInterval,
                    maxInFlightBatches: config.maxInFlightBatches,
                    maxFrameBytes: config.maxFrameBytes,
                    drainTimeout: config.drainTimeout,
                    serverVersion: config.serverVersion,
                    responderKey: config.responderKey,
                    serverID: config.serverID
                ),
                peer: .init(agent: peer.agent, serial: peer.serial, sessionID: sessionID)
            ),
            handle: SessionHandle(agent: peer.agent, sessionID: sessionID, certificateSerial: peer.serial),
            logger: logger
        )
        await withDiscardingTaskGroup { group in
            var frames = inbound.makeAsyncIterator()
            var helloSeen = false
            var sideTasksStarted = false
            while true {
                let event = await Self.nextEvent(&frames)
                if case .connectionEnded = event {
                    await driver.feed(event, group: &group)
                    break
                }
                if !helloSeen, case .message = event {
                    helloSeen = true
                    helloTimer.cancel()
                }
                await driver.feed(event, group: &group)
                if driver.isClosed { break }
                if !sideTasksStarted, driver.opened.withLock({ $0 }) {
                    sideTasksStarted = true
                    group.addTask { await driver.controlLoop() }
                    group.addTask { await driver.ticker() }
                }
            }
            group.cancelAll()
        }
        await driver.finish()
    }
}

extension MeshSession {
    /// The next frame as the machine's event. Not inlined, so its locals stay out of the reader's
    /// long-lived frame (see ``Driver/perform(_:)``).
    @inline(never)
    static func nextEvent(
        _ frames: inout NIOAsyncChannelInboundStream<MeshFrame>.AsyncIterator
    ) async -> MeshSessionStateMachine.Event {
        do {
            guard let frame = try await frames.next() else { return .connectionEnded(reason: "connection closed") }
            return .message(try MeshCodec.decode(frame), at: .now())
        } catch let error as WireError {
            return .undecodableFrame(error)
        } catch {
            return .connectionEnded(reason: "connection error: \(error)")
        }
    }
}

extension MeshSession {
    /// Performs the machine's actions. One instance per connection, shared by the session's tasks;
    /// the machine sits behind a lock that is never held across an await.
    final class Driver: Sendable {
        let server: MeshServer
        let channel: any Channel
        let outbound: NIOAsyncChannelOutboundWriter<MeshFrame>
        let handle: SessionHandle
        let logger: Logger
        private let machine: Mutex<Machine>
        /// Set once the session is registered (the control loop and ticker start then).
        let opened = Mutex(false)
        private let ending = Mutex<(reason: String, markOffline: Bool)?>(nil)

        init(
            server: MeshServer,
            channel: any Channel,
            outbound: NIOAsyncChannelOutboundWriter<MeshFrame>,
            machine: Machine,
            handle: SessionHandle,
            logger: Logger
        ) {
            self.server = server
            self.channel = channel
            self.outbound = outbound
            self.machine = Mutex(machine)
            self.handle = handle
            self.logger = logger
        }

        var isClosed: Bool { machine.withLock { $0.isClosed } }

        /// Feeds `event` from the reader, which may start commits beside it in `group`.
        func feed(_ event: Machine.Event, group: inout DiscardingTaskGroup) async {
            await feed(event) { batch in group.addTask { await self.commit(batch) } }
        }

        /// Feeds `event` from a task that cannot start commits: only frames (the reader) lead to one.
        func feed(_ event: Machine.Event) async {
            await feed(event) { batch in
                logger.error("internal: batch \(batch.batchID) to commit outside the reader; the agent resends it")
            }
        }

        /// Carries out the machine's answer to `event`, and its answers to their outcomes, in order.
        private func feed(_ event: Machine.Event, startCommit: (IncomingBatch) -> Void) async {
            var queue = machine.withLock { $0.handle(event) }[...]
            while let action = queue.popFirst() {
                if case .commit(let batch) = action {
                    startCommit(batch)
                } else if let next = await perform(action) {
                    queue += machine.withLock { $0.handle(next) }
                }
            }
        }

        /// Runs one action; returns the event its outcome is, if it has one.
        ///
        /// Each store-bound step is its own function that is never inlined: an async function's
        /// frame holds the locals of everything inlined into it, and a task keeps the stack slabs
        /// of its deepest frame for its whole life. One frame with every case's locals cost each
        /// session's three tasks ~17 KB apiece (heaptrack, 2,000 idle sessions).
        private func perform(_ action: Machine.Action) async -> Machine.Event? {
            switch action {
            case .send(let messages):
                await send(messages)
                return nil
            case .checkRevocation(let agent, let serial):
                return await inChildTask { await self.checkRevocation(agent, serial: serial) }
            case .openSession(let start):
                return await inChildTask { await self.openSession(start) }
            case .readAssignments(let agent):
                return await inChildTask { await self.readAssignments(agent) }
            case .commit:
                return nil  // Started by `feed(_:group:)`.
            case .recordStatus(let update):
                server.statusBoard.record(update)
                return nil
            case .log(let level, let message, let metadata):
                logger.log(level: level, "\(message)", metadata: metadata)
                return nil
            case .wake(let at):
                return await wake(at: at)
            case .close(let reason, let markOffline):
                ending.withLock { $0 = (reason, markOffline) }
                channel.close(promise: nil)
                return nil
            }
        }

        /// Runs a store-bound step in a child task: the store's deep frames then take that task's
        /// stack slabs, freed when it ends, instead of growing a session task's for its whole life.
        @inline(never)
        private func inChildTask(_ step: @escaping @Sendable () async -> Machine.Event) async -> Machine.Event {
            await withTaskGroup(of: Machine.Event.self) { group in
                group.addTask(operation: step)
                return await group.next() ?? .connectionEnded(reason: "the session task was cancelled")
            }
        }

        @inline(never)
        private func send(_ messages: [MeshMessage]) async {
            do {
                try await outbound.write(contentsOf: messages.map { try MeshCodec.encode($0) })
            } catch {
                // The connection is going; the reader sees it end.
                logger.debug("could not send \(messages.map(\.name)): \(error)")
            }
        }

        /// An admin may have revoked this agent through the gateway (the store is the shared
        /// truth). Fail closed: when the store cannot say, the agent is not admitted.
        @inline(never)
        private func checkRevocation(_ agent: AgentName, serial: String) async -> Machine.Event {
            do {
                return .revocationChecked(revoked: try await server.store.isRevoked(agent, serial: serial), at: .now())
            } catch {
                return .revocationCheckFailed(reason: "\(error)")
            }
        }

        @inline(never)
        private func openSession(_ start: SessionStart) async -> Machine.Event {
            if server.registry.register(handle) != nil {
                logger.info("agent reconnected; the older session is replaced")
            }
            opened.withLock { $0 = true }
            do {
                try await server.store.recordSessionStart(start)
                return .sessionOpened(lastBatchID: try await server.store.lastBatchID(of: start.agent), at: .now())
            } catch {
                return .sessionOpenFailed(reason: "\(error)")
            }
        }

        @inline(never)
        private func readAssignments(_ agent: AgentName) async -> Machine.Event {
            do {
                let assignments = try await DeviceTargets.resolve(
                    try await MeshTargets.resolve(
                        try await server.store.activeAssignments(for: agent),
                        store: server.store
                    ),
                    store: server.store,
                    vault: server.configuration.deviceVault,
                    logger: logger
                )
                return .assignmentsRead(assignments)
            } catch {
                return .assignmentsReadFailed(reason: "\(error)")
            }
        }

        @inline(never)
        private func wake(at: MeshTime) async -> Machine.Event? {
            let wait = at - .now()
            if wait > .zero { try? await Task.sleep(for: wait) }
            return Task.isCancelled ? nil : .tick(.now())
        }

        @inline(never)
        private func commit(_ batch: IncomingBatch) async {
            let event: Machine.Event
            do {
                let result = try await server.ingest.commit(batch)
                if result.idReused {
                    event = .batchIDReused(
                        batchID: batch.batchID,
                        lastStored: try await server.store.lastBatchID(of: batch.agent)
                    )
                } else {
                    event = .batchCommitted(result)
                }
            } catch {
                event = .batchCommitFailed(batchID: batch.batchID, reason: "\(error)")
            }
            await feed(event)
        }

        /// Reconcile and close requests from the server (new tests, drain, revocation, replacement).
        func controlLoop() async {
            for await control in handle.controls {
                switch control {
                case .reconcile: await feed(.reconcileRequested)
                case .close(let reason, let redirect):
                    await feed(.closeRequested(reason, at: .now(), redirect: redirect))
                }
                if isClosed { return }
            }
        }

        /// Liveness: a tick every heartbeat interval (the machine closes after 3 silent ones).
        func ticker() async {
            let interval = server.configuration.heartbeatInterval
            while !isClosed {
                do { try await Task.sleep(for: interval) } catch { return }
                await feed(.tick(.now()))
            }
        }

        /// After every task ended: unregister, log why, mark offline when the session had opened.
        func finish() async {
            let opened = opened.withLock { $0 }
            // Unregistered last: a draining server waits for the registry to empty, and the agent
            // must be marked offline by then.
            defer {
                if opened {
                    server.registry.remove(handle)
                    handle.finish()
                }
            }
            let ending = ending.withLock { $0 } ?? (reason: "connection closed", markOffline: opened)
            guard ending.markOffline else {
                logger.notice("mesh connection closed: \(ending.reason)")
                return
            }
            logger.info("agent session ended: \(ending.reason)")
            do {
                try await server.store.markOffline(handle.agent, sessionID: handle.sessionID, at: .now())
            } catch  where Task.isCancelled {
                // The server is being torn down hard (not drained); the next session start corrects it.
                logger.debug("agent not marked offline: the server task was cancelled")
            } catch {
                logger.warning("could not mark the agent offline: \(error)")
            }
        }
    }
}
