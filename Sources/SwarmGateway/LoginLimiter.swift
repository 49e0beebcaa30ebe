import Foundation
import Synchronization

/// Limits password checks: failures per (username, client) and per client in a sliding window, and
/// how many bcrypt checks may run at once.
///
/// An attempt is reserved before the password is hashed and counted as a failure until it
/// succeeds, so parallel requests cannot all pass the check before any failure is recorded. The
/// username is only ever limited together with the client, so a stranger guessing `admin` locks out
/// themselves, not the real admin; the client alone is limited at a multiple of the per-user limit,
/// which bounds one client guessing many usernames. IPv6 clients are keyed by their /64.
final class LoginLimiter: Sendable {
    /// One reserved attempt; hand it back to ``finish(_:succeeded:)`` exactly once.
    struct Reservation: Sendable {
        fileprivate let pair: String
        fileprivate let client: String
        fileprivate let at: ContinuousClock.Instant
    }
    enum Decision: Sendable {
        case allowed(Reservation)
        /// Seconds until the caller may try again.
        case limited(retryAfter: Int)
        /// Too many password checks are running already: try again in a second.
        case busy
    }
    private struct State {
        var attempts: [String: [ContinuousClock.Instant]] = [:]
        var checking = 0
    }
    private let state = Mutex(State())
    private let window: Duration
    private let maxConcurrentChecks: Int
    /// A client (address or IPv6 /64) may fail this many times the per-user limit in the window.
    static let clientLimitFactor = 4
    /// Keys kept at most; past it (a distributed flood of usernames) new attempts wait.
    private static let maxKeys = 100_000

    init(window: Duration = .seconds(60), maxConcurrentChecks: Int = 8) {
        self.window = window
        self.maxConcurrentChecks = max(1, maxConcurrentChecks)
    }

    /// Keys are bounded: a flood of megabyte-long usernames must not become megabytes of keys.
    private static func keys(client: String, username: String) -> (pair: String, client: String) {
        let client = clientKey(client)
        return ("pair:\(username.prefix(64))|\(client)", "client:\(client)")
    }

    static func clientKey(_ address: String) -> String {
        guard let bytes = TrustedProxies.parse(address), bytes.count == 16,
            !bytes[0..<12].elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF])
        else { return String(address.prefix(64)) }
        // One host is usually given a whole /64: limit the network, not each of its addresses.
        return bytes[0..<8].map { String(format: "%02x", $0) }.joined() + "::/64"
    }

    /// Reserves an attempt for `username` from `client`, or says why not.
    func reserve(client: String, username: String, limit: Int) -> Decision {
        let now = ContinuousClock.now
        let (pair, clientKey) = Self.keys(client: client, username: username)
        return state.withLock { state -> Decision in
            var wait: Duration?
            for (key, allowed) in [(pair, limit), (clientKey, limit * Self.clientLimitFactor)] {
                let recent = (state.attempts[key] ?? []).filter { now - $0 < window }
                state.attempts[key] = recent.isEmpty ? nil : recent
                if recent.count >= allowed, let oldest = recent.first {
                    wait = max(wait ?? .zero, window - (now - oldest))
                }
            }
            if let wait { return .limited(retryAfter: max(1, Int(wait.components.seconds) + 1)) }
            if state.checking >= maxConcurrentChecks { return .busy }
            if state.attempts.count >= Self.maxKeys {
                state.attempts = state.attempts.filter { _, times in times.contains { now - $0 < window } }
                if state.attempts.count >= Self.maxKeys { return .busy }
            }
            state.attempts[pair, default: []].append(now)
            state.attempts[clientKey, default: []].append(now)
            state.checking += 1
            return .allowed(Reservation(pair: pair, client: clientKey, at: now))
        }
    }

    /// Ends a reserved attempt. A success clears the (username, client) failures and takes this
    /// attempt off the client's count; a failure stays counted.
    func finish(_ reservation: Reservation, succeeded: Bool) {
        state.withLock { state in
            state.checking -= 1
            guard succeeded else { return }
            state.attempts[reservation.pair] = nil
            let client = reservation.client
            if var times = state.attempts[client], let index = times.firstIndex(of: reservation.at) {
                times.remove(at: index)
                state.attempts[client] = times.isEmpty ? nil : times
            }
        }
    }
}
