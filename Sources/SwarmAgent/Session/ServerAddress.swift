/// One server of the swarm, as `--server` names it.
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 literal in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Which server the agent dials next: the list in order, starting again at the first.
///
/// A failed dial moves on at once while this round has servers untried; after a full round of
/// failures the caller backs off. A session that opened and then ended moves on too (its server
/// may be draining or gone) and starts a new round.
struct ServerRotation: Sendable {
    let count: Int
    private(set) var current = 0
    private var triedThisRound = 0

    init(count: Int) { self.count = max(count, 1) }

    /// Makes `index` the next server to dial (a drain redirect), in a fresh round.
    mutating func jump(to index: Int) {
        current = index % count
        triedThisRound = 0
    }

    /// Moves to the next server; returns whether every server was tried since the last success.
    mutating func advance(sessionOpened: Bool) -> Bool {
        if sessionOpened { triedThisRound = 0 }
        triedThisRound += 1
        current = (current + 1) % count
        guard triedThisRound >= count else { return false }
        triedThisRound = 0
        return true
    }
}
