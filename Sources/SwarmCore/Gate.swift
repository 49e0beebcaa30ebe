import Synchronization

/// A value set once that any number of tasks can await: a start signal, an exit signal, a port
/// known only once a listener is up. Waiting after it opened returns at once; opening twice keeps
/// the first value.
public final class Gate<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [CheckedContinuation<Value, Never>] = []
    }
    private let state = Mutex(State())

    public init() {}

    /// The value, once the gate opened.
    public var value: Value? { state.withLock { $0.value } }
    public var isOpen: Bool { value != nil }

    /// Opens the gate with `value`, waking every waiter.
    public func open(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// Returns the value once the gate is open.
    public func wait() async -> Value {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

extension Gate where Value == Void {
    public func open() { open(()) }
}
