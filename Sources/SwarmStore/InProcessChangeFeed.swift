import Synchronization

/// A ``ChangeFeed`` for a single process: every subscriber gets every change.
///
/// Subscribers get a bounded buffer (newest kept): changes are level-triggered hints, so a slow
/// subscriber that drops one still reconciles from the store on the next.
public final class InProcessChangeFeed: ChangeFeed {
    private struct State {
        var nextID = 0
        var continuations: [Int: AsyncStream<StoreChange>.Continuation] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    public func subscribe() -> AsyncStream<StoreChange> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: StoreChange.self,
            bufferingPolicy: .bufferingNewest(1024)
        )
        let id = state.withLock { state in
            state.nextID += 1
            state.continuations[state.nextID] = continuation
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }

    public func publish(_ change: StoreChange) {
        let targets = state.withLock { Array($0.continuations.values) }
        for continuation in targets { continuation.yield(change) }
    }

    /// Ends every subscription.
    public func finish() {
        let targets = state.withLock { state in
            defer { state.continuations.removeAll() }
            return Array(state.continuations.values)
        }
        for continuation in targets { continuation.finish() }
    }
}
