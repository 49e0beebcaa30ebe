import Synchronization

/// Counts failed sign-ins per client address and per username in a sliding minute.
///
/// Both keys matter: one address guessing many users, and many addresses guessing one user.
final class LoginLimiter: Sendable {
    private struct State {
        var failures: [String: [ContinuousClock.Instant]] = [:]
    }
    private let state = Mutex(State())
    private let window: Duration

    init(window: Duration = .seconds(60)) { self.window = window }

    /// Keys are bounded: a flood of megabyte-long usernames must not become megabytes of keys.
    private static func keys(address: String, username: String) -> [String] {
        ["ip:\(address.prefix(64))", "user:\(username.prefix(64))"]
    }

    /// Seconds until another attempt is allowed, or nil when one is allowed now.
    func retryAfter(address: String, username: String, limit: Int) -> Int? {
        let now = ContinuousClock.now
        return state.withLock { state -> Int? in
            var wait: Duration?
            for key in Self.keys(address: address, username: username) {
                let recent = (state.failures[key] ?? []).filter { now - $0 < window }
                state.failures[key] = recent
                if recent.count >= limit, let oldest = recent.first {
                    let remaining = window - (now - oldest)
                    wait = max(wait ?? .zero, remaining)
                }
            }
            return wait.map { max(1, Int($0.components.seconds) + 1) }
        }
    }

    func recordFailure(address: String, username: String) {
        let now = ContinuousClock.now
        state.withLock { state in
            for key in Self.keys(address: address, username: username) { state.failures[key, default: []].append(now) }
            // Bound memory under a flood of distinct usernames.
            if state.failures.count > 10_000 { state.failures.removeAll() }
        }
    }

    func recordSuccess(username: String) {
        _ = state.withLock { $0.failures.removeValue(forKey: Self.keys(address: "", username: username)[1]) }
    }
}
