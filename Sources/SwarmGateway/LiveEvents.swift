import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SwarmCore
import SwarmStore
import Synchronization

/// Fans store changes out to browsers as server-sent events.
///
/// Each client has a bounded buffer. A client that falls behind loses the oldest events and gets
/// one `resync` event telling it to refetch: a slow browser never grows the server's memory.
final class LiveEvents: Sendable {
    struct Event: Sendable {
        var name: String
        var json: String
    }

    private struct Client: Sendable {
        let continuation: AsyncStream<Event>.Continuation
        /// Who opened the stream: it ends when their session or token stops being valid.
        let principal: Principal
    }

    enum Subscription {
        case stream(AsyncStream<Event>)
        /// `maxClients` streams are open.
        case full
        /// The user holds `maxPerUser` streams already.
        case userFull
    }

    private struct State {
        var nextID = 0
        var clients: [Int: Client] = [:]
        var finished = false
        /// New results per (test, agent), sent at most once a second.
        var pendingResults: [String: (test: Int64, agent: String, count: Int)] = [:]
    }

    static let bufferSize = 256
    /// Open streams allowed at once; more get 503 (each costs at most `bufferSize` events).
    let maxClients: Int
    /// Open streams one user may hold (a tab each); more get 429, so no user takes everyone's share.
    let maxPerUser: Int
    private let state = Mutex(State())
    private let store: any Store
    private let settings: GatewaySettings
    private let logger: Logger
    private let keepalive: Duration

    init(
        store: any Store,
        logger: Logger,
        keepalive: Duration = .seconds(15),
        maxClients: Int = 1000,
        maxPerUser: Int = 16
    ) {
        self.maxClients = maxClients
        self.maxPerUser = maxPerUser
        self.store = store
        self.settings = GatewaySettings(store: store)
        self.logger = logger
        self.keepalive = keepalive
    }

    var clientCount: Int { state.withLock { $0.clients.count } }

    /// Listens to the store's change feed until cancelled; flushes coalesced results every second.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.translateChanges() }
            group.addTask { await self.tickLoop() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Ends every stream (graceful shutdown): SSE responses complete and connections close.
    func finish() {
        let clients = state.withLock { state -> [Client] in
            state.finished = true
            defer { state.clients.removeAll() }
            return Array(state.clients.values)
        }
        for client in clients { client.continuation.finish() }
    }

    /// A new event stream for `principal` (already finished after ``finish()``), unless the
    /// gateway or the user is at their limit.
    func subscribe(for principal: Principal) -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Event.self,
            bufferingPolicy: .bufferingNewest(Self.bufferSize)
        )
        let client = Client(continuation: continuation, principal: principal)
        var refusal: Subscription?
        let id = state.withLock { state -> Int? in
            guard !state.finished else { return nil }
            guard state.clients.count < maxClients else {
                refusal = .full
                return nil
            }
            let held = state.clients.values.count { $0.principal.username == principal.username }
            guard held < maxPerUser else {
                refusal = .userFull
                return nil
            }
            state.nextID += 1
            state.clients[state.nextID] = client
            return state.nextID
        }
        guard let id else {
            continuation.finish()
            return refusal ?? .stream(stream)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.clients.removeValue(forKey: id) }
        }
        return .stream(stream)
    }

    /// Ends the streams of `username` (disabled, deleted, password changed), or only those opened
    /// with one browser session (signed out). Returns how many ended.
    @discardableResult
    func endStreams(of username: String, sessionTokenHash: String? = nil) -> Int {
        let ended = state.withLock { state -> [Client] in
            let matching = state.clients.filter { _, client in
                guard client.principal.username == username else { return false }
                guard let sessionTokenHash else { return true }
                if case .session(let hash, _) = client.principal.method { return hash == sessionTokenHash }
                return false
            }
            for id in matching.keys { state.clients[id] = nil }
            return Array(matching.values)
        }
        for client in ended { client.continuation.finish() }
        return ended.count
    }

    /// Ends every stream whose session or token is no longer valid: changes made by another
    /// gateway or the CLI reach open streams within one keepalive interval.
    func revalidate(_ isValid: @Sendable (Principal) async throws -> Bool) async {
        let clients = state.withLock { $0.clients }
        var verdicts: [Principal: Bool] = [:]
        for client in clients.values where verdicts[client.principal] == nil {
            do {
                verdicts[client.principal] = try await isValid(client.principal)
            } catch {
                // The store did not answer: keep the stream and ask again next time.
                logger.warning("could not re-check a live-update stream's caller: \(error)")
                verdicts[client.principal] = true
            }
        }
        let ended = state.withLock { state -> [Client] in
            let stale = state.clients.filter { verdicts[$0.value.principal] == false }
            for id in stale.keys { state.clients[id] = nil }
            return Array(stale.values)
        }
        for client in ended { client.continuation.finish() }
        if !ended.isEmpty { logger.info("ended \(ended.count) live-update streams whose sign-in is no longer valid") }
    }

    /// Sends `event` to every client. A full buffer drops the client's oldest event, and a
    /// `resync` then goes last so the client knows to refetch.
    func broadcast(_ event: Event) {
        let clients = state.withLock { Array($0.clients.values) }
        for client in clients {
            if case .dropped = client.continuation.yield(event) {
                client.continuation.yield(Event(name: "resync", json: "{}"))
            }
        }
    }

    private func translateChanges() async {
        for await change in store.changes.subscribe() {
            if Task.isCancelled { return }
            switch change {
            case .agentChanged(let name):
                let record = try? await store.agent(name)
                let online = (record?.online ?? false) && record?.revokedAt == nil
                let stateName =
                    record == nil ? "deleted" : (record?.revokedAt != nil ? "revoked" : (online ? "online" : "offline"))
                broadcast(
                    Event(
                        name: "agent",
                        json: Self.json(["name": name.rawValue, "online": online, "state": stateName])
                    )
                )
            case .assignmentsChanged(let test, _):
                if let record = try? await store.test(test) {
                    broadcast(
                        Event(
                            name: "test",
                            json: Self.json([
                                "id": test.rawValue, "state": record.state.rawValue, "revision": record.revision,
                            ])
                        )
                    )
                } else {
                    broadcast(Event(name: "test", json: Self.json(["id": test.rawValue, "state": "deleted"])))
                }
            case .testsChanged:
                broadcast(Event(name: "resync", json: "{}"))
            case .measurementsStored(let test, let agent, let count):
                state.withLock { state in
                    let key = "\(test.rawValue)/\(agent.rawValue)"
                    state.pendingResults[key, default: (test.rawValue, agent.rawValue, 0)].count += count
                }
            }
        }
    }

    private func tickLoop() async {
        var sinceKeepalive = Duration.zero
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
            let pending = state.withLock { state in
                defer { state.pendingResults.removeAll() }
                return Array(state.pendingResults.values)
            }
            for p in pending {
                broadcast(
                    Event(name: "results", json: Self.json(["testId": p.test, "agent": p.agent, "count": p.count]))
                )
            }
            sinceKeepalive += .seconds(1)
            if sinceKeepalive >= keepalive {
                sinceKeepalive = .zero
                let (store, settings) = (self.store, self.settings)
                await revalidate { try await Authenticator.isStillValid($0, store: store, settings: settings) }
                broadcast(Event(name: "", json: ""))  // a comment line: keeps proxies from closing idle streams
            }
        }
    }

    private static func json(_ object: [String: any Sendable]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The SSE response: `event:`/`data:` frames until the client leaves, signs out, or the
    /// gateway stops.
    func response(for principal: Principal) throws -> Response {
        let stream: AsyncStream<Event>
        switch subscribe(for: principal) {
        case .stream(let opened):
            stream = opened
        case .full:
            logger.warning("refused a live-update stream: \(maxClients) are open already")
            throw GatewayError(
                .serviceUnavailable,
                "too many live-update streams are open (\(maxClients)); close other tabs or retry later",
                headers: [.retryAfter: "30"]
            )
        case .userFull:
            logger.notice("refused a live-update stream for \(principal.username): \(maxPerUser) open already")
            throw GatewayError(
                .tooManyRequests,
                "you have \(maxPerUser) live-update streams open already; close other tabs",
                headers: [.retryAfter: "30"]
            )
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream",
                .cacheControl: "no-store",
                .accelBuffering: "no",
            ],
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                for await event in stream {
                    let frame = event.name.isEmpty ? ": ping\n\n" : "event: \(event.name)\ndata: \(event.json)\n\n"
                    try await writer.write(ByteBuffer(string: frame))
                }
                try await writer.finish(nil)
            }
        )
    }
}
