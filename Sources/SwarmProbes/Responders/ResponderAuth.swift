import Crypto
import Foundation
// why: responders and their clients take the swarm's key as a SwarmCore type.
public import SwarmCore
import Synchronization

/// HMAC-SHA256 (truncated to 16 bytes) over responder messages: only holders of the swarm's key can
/// use a responder, and a stranger's packets are dropped and counted.
enum ResponderAuth {
    static let tagLength = 16

    static func tag(_ bytes: some Collection<UInt8>, key: ResponderKey) -> [UInt8] {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(bytes), using: SymmetricKey(data: key.bytes))
        return Array(mac.prefix(tagLength))
    }

    /// Whether the last 16 bytes of `message` are the tag of the bytes before them.
    static func verify(_ message: [UInt8], key: ResponderKey) -> Bool {
        guard message.count > tagLength else { return false }
        let body = message[..<(message.count - tagLength)]
        let expected = tag(body, key: key)
        // why: constant-time comparison, so the tag cannot be guessed byte by byte from timing.
        var difference: UInt8 = 0
        for (a, b) in zip(expected, message[(message.count - tagLength)...]) { difference |= a ^ b }
        return difference == 0
    }
}

/// The key a responder checks against. The agent learns it from the server's Welcome, so it can change
/// while the responder runs; until it is known every packet is refused.
public final class ResponderKeyring: Sendable {
    private let key: Mutex<ResponderKey?>

    public init(_ key: ResponderKey? = nil) { self.key = Mutex(key) }

    public var current: ResponderKey? { key.withLock { $0 } }

    public func update(_ newKey: ResponderKey?) { key.withLock { $0 = newKey } }
}

/// What a responder has done since it started, for logs and status.
public struct ResponderCounters: Sendable, Hashable {
    public var answered: UInt64 = 0
    /// Packets or connections without a valid tag (strangers, or a stale key).
    public var refusedUnauthenticated: UInt64 = 0
    public var refusedMalformed: UInt64 = 0
    public init() {}
}
