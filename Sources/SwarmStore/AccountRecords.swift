import Foundation
// why: records expose SwarmCore types (Role, Timestamp) in their public fields.
public import SwarmCore

/// A person who signs in to the gateway.
public struct UserRecord: Sendable, Hashable {
    public var username: String
    /// A bcrypt (or other slow-hash) string; never leaves the gateway.
    public var passwordHash: String
    public var role: Role
    public var disabled: Bool
    public var createdAt: Timestamp
    public var lastLoginAt: Timestamp?

    public init(
        username: String,
        passwordHash: String,
        role: Role,
        disabled: Bool = false,
        createdAt: Timestamp = .now(),
        lastLoginAt: Timestamp? = nil
    ) {
        self.username = username
        self.passwordHash = passwordHash
        self.role = role
        self.disabled = disabled
        self.createdAt = createdAt
        self.lastLoginAt = lastLoginAt
    }

    /// 1–64 characters of letters, digits and `._@-`: safe in logs, URLs and tables.
    public static func isValidUsername(_ name: String) -> Bool {
        (1...64).contains(name.count)
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.usernameScalars.contains($0)) }
    }
}

/// A browser session. The cookie carries a random secret; the store keeps only its hash.
public struct SessionRecord: Sendable, Hashable {
    public var tokenHash: String
    public var username: String
    /// Sent back in `X-CSRF-Token` on cookie-authenticated writes.
    public var csrfToken: String
    public var createdAt: Timestamp
    public var lastSeenAt: Timestamp

    public init(tokenHash: String, username: String, csrfToken: String, createdAt: Timestamp, lastSeenAt: Timestamp) {
        self.tokenHash = tokenHash
        self.username = username
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
    }
}

/// A bearer token for scripts: stored hashed, shown once, scoped to a role, revocable.
public struct APITokenRecord: Sendable, Hashable {
    public var id: Int64
    public var name: String
    /// The first characters of the secret, so an operator can tell tokens apart.
    public var prefix: String
    public var tokenHash: String
    public var role: Role
    public var owner: String
    public var createdAt: Timestamp
    public var lastUsedAt: Timestamp?
    public var expiresAt: Timestamp?

    public init(
        id: Int64 = 0,
        name: String,
        prefix: String,
        tokenHash: String,
        role: Role,
        owner: String,
        createdAt: Timestamp,
        lastUsedAt: Timestamp? = nil,
        expiresAt: Timestamp? = nil
    ) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.tokenHash = tokenHash
        self.role = role
        self.owner = owner
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
    }
}

/// Something an operator may want to know happened (dashboard "recent events").
public struct EventRecord: Sendable, Hashable {
    /// Kinds that start with these belong to the account audit trail (admins only).
    public static let accountKindPrefixes = ["user.", "token."]
    public var id: Int64
    public var at: Timestamp
    /// Dotted kind: `agent.online`, `test.created`, `user.deleted`, …
    public var kind: String
    /// The agent name, test id or username the event is about.
    public var subject: String
    public var message: String

    public init(id: Int64 = 0, at: Timestamp = .now(), kind: String, subject: String, message: String) {
        self.id = id
        self.at = at
        self.kind = kind
        self.subject = subject
        self.message = message
    }
}

extension CharacterSet {
    fileprivate static let usernameScalars = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-"
    )
}
