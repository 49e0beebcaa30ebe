import Logging
import PostgresNIO
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// AccountStore: users, browser sessions and API tokens.
extension PostgresStore {
    public func createUser(_ user: UserRecord) async throws {
        guard UserRecord.isValidUsername(user.username) else {
            throw StoreError(
                code: .invalidInput,
                message: "username must be 1–64 characters of letters, digits and . _ @ -"
            )
        }
        let logger = self.logger
        try await transaction("creating a user") { connection in
            do {
                try await connection.run(
                    """
                    INSERT INTO users (username, password_hash, role, disabled, created_at, last_login_at)
                    VALUES (\(user.username), \(user.passwordHash), \(user.role.rawValue), \(user.disabled),
                            \(user.createdAt.unixNanos), \(user.lastLoginAt?.unixNanos))
                    """,
                    logger
                )
            } catch  where Self.isUniqueViolation(error) {
                throw StoreError(code: .conflict, message: "user \(user.username) exists already")
            }
            try await Self.appendEvent(
                connection,
                EventRecord(
                    kind: "user.created",
                    subject: user.username,
                    message: "user \(user.username) created (\(user.role.rawValue))"
                ),
                logger
            )
        }
    }

    public func users() async throws -> [UserRecord] {
        let logger = self.logger
        return try await read("reading users") { connection in
            try await connection.rows("SELECT \(unescaped: Self.userColumns) FROM users ORDER BY username", logger)
                .compactMap(Self.userRecord)
        }
    }

    public func user(_ username: String) async throws -> UserRecord? {
        let logger = self.logger
        return try await read("reading a user") { connection in
            try await connection.rows(
                "SELECT \(unescaped: Self.userColumns) FROM users WHERE username = \(username)",
                logger
            )
            .first.flatMap(Self.userRecord)
        }
    }

    public func updateUser(
        _ username: String,
        role: Role?,
        passwordHash: String?,
        disabled: Bool?
    ) async throws
        -> UserRecord
    {
        let logger = self.logger
        try await transaction("updating a user") { connection in
            let updated = try await connection.run(
                """
                UPDATE users SET role = COALESCE(\(role?.rawValue), role), password_hash = COALESCE(\(passwordHash), password_hash),
                                 disabled = COALESCE(\(disabled), disabled)
                WHERE username = \(username) RETURNING 1
                """,
                logger
            )
            guard updated > 0 else { throw StoreError(code: .notFound, message: "user \(username) does not exist") }
            if passwordHash != nil || disabled == true {
                // A new password or a disabled account signs the user out everywhere.
                try await connection.run("DELETE FROM sessions WHERE username = \(username)", logger)
            }
        }
        guard let user = try await user(username) else {
            throw StoreError(code: .notFound, message: "user \(username) does not exist")
        }
        return user
    }

    public func deleteUser(_ username: String) async throws {
        let logger = self.logger
        try await transaction("deleting a user") { connection in
            guard try await connection.run("DELETE FROM users WHERE username = \(username) RETURNING 1", logger) > 0
            else {
                throw StoreError(code: .notFound, message: "user \(username) does not exist")
            }
            try await Self.appendEvent(
                connection,
                EventRecord(kind: "user.deleted", subject: username, message: "user \(username) deleted"),
                logger
            )
        }
    }

    public func recordLogin(_ username: String, at: Timestamp) async throws {
        try await execute(
            "recording a login",
            "UPDATE users SET last_login_at = \(at.unixNanos) WHERE username = \(username)"
        )
    }

    public func createSession(_ session: SessionRecord) async throws {
        try await execute(
            "creating a session",
            """
            INSERT INTO sessions (token_hash, username, csrf_token, created_at, last_seen_at)
            VALUES (\(session.tokenHash), \(session.username), \(session.csrfToken), \(session.createdAt.unixNanos),
                    \(session.lastSeenAt.unixNanos))
            """
        )
    }

    public func session(tokenHash: String) async throws -> SessionRecord? {
        let logger = self.logger
        return try await read("reading a session") { connection in
            try await connection.rows(
                """
                SELECT token_hash, username, csrf_token, created_at, last_seen_at FROM sessions
                WHERE token_hash = \(tokenHash)
                """,
                logger
            ).first.map { row in
                let (hash, username, csrf, created, seen) = try row.decode((String, String, String, Int64, Int64).self)
                return SessionRecord(
                    tokenHash: hash,
                    username: username,
                    csrfToken: csrf,
                    createdAt: Timestamp(unixNanos: created),
                    lastSeenAt: Timestamp(unixNanos: seen)
                )
            }
        }
    }

    public func touchSession(tokenHash: String, at: Timestamp) async throws {
        try await execute(
            "touching a session",
            "UPDATE sessions SET last_seen_at = \(at.unixNanos) WHERE token_hash = \(tokenHash)"
        )
    }

    public func deleteSession(tokenHash: String) async throws {
        try await execute("deleting a session", "DELETE FROM sessions WHERE token_hash = \(tokenHash)")
    }

    public func deleteSessions(idleBefore: Timestamp, createdBefore: Timestamp) async throws -> Int {
        try await execute(
            "deleting sessions",
            """
            DELETE FROM sessions WHERE last_seen_at < \(idleBefore.unixNanos) OR created_at < \(createdBefore.unixNanos)
            RETURNING 1
            """
        )
    }

    public func createToken(_ token: APITokenRecord) async throws -> APITokenRecord {
        let logger = self.logger
        let id = try await transaction("creating an API token") { connection -> Int64 in
            let rows = try await connection.rows(
                """
                INSERT INTO api_tokens (name, prefix, token_hash, role, owner, created_at, last_used_at, expires_at)
                VALUES (\(token.name), \(token.prefix), \(token.tokenHash), \(token.role.rawValue), \(token.owner),
                        \(token.createdAt.unixNanos), \(token.lastUsedAt?.unixNanos), \(token.expiresAt?.unixNanos))
                RETURNING id
                """,
                logger
            )
            guard let id = try rows.first?.decode(Int64.self) else {
                throw StoreError(code: .corrupt, message: "creating an API token returned no id")
            }
            return id
        }
        var stored = token
        stored.id = id
        return stored
    }

    public func tokens() async throws -> [APITokenRecord] {
        let logger = self.logger
        return try await read("reading API tokens") { connection in
            try await connection.rows("SELECT \(unescaped: Self.tokenColumns) FROM api_tokens ORDER BY id", logger)
                .compactMap(Self.tokenRecord)
        }
    }

    public func token(hash: String) async throws -> APITokenRecord? {
        let logger = self.logger
        return try await read("reading an API token") { connection in
            try await connection.rows(
                "SELECT \(unescaped: Self.tokenColumns) FROM api_tokens WHERE token_hash = \(hash)",
                logger
            )
            .first.flatMap(Self.tokenRecord)
        }
    }

    public func touchToken(id: Int64, at: Timestamp) async throws {
        try await execute(
            "touching an API token",
            "UPDATE api_tokens SET last_used_at = \(at.unixNanos) WHERE id = \(id)"
        )
    }

    public func deleteToken(id: Int64) async throws {
        guard try await execute("deleting an API token", "DELETE FROM api_tokens WHERE id = \(id) RETURNING 1") > 0
        else {
            throw StoreError(code: .notFound, message: "API token \(id) does not exist")
        }
    }

    /// Runs one statement in its own transaction; returns how many rows it returned.
    @discardableResult
    func execute(_ action: String, _ query: PostgresQuery) async throws -> Int {
        let logger = self.logger
        return try await transaction(action) { connection in try await connection.run(query, logger) }
    }

    private static let userColumns = "username, password_hash, role, disabled, created_at, last_login_at"

    private static func userRecord(_ row: PostgresRow) throws -> UserRecord? {
        let (username, hash, role, disabled, created, lastLogin) = try row.decode(
            (String, String, String, Bool, Int64, Int64?).self
        )
        guard let role = Role(rawValue: role) else { return nil }
        return UserRecord(
            username: username,
            passwordHash: hash,
            role: role,
            disabled: disabled,
            createdAt: Timestamp(unixNanos: created),
            lastLoginAt: lastLogin.map(Timestamp.init(unixNanos:))
        )
    }

    private static let tokenColumns = "id, name, prefix, token_hash, role, owner, created_at, last_used_at, expires_at"

    private static func tokenRecord(_ row: PostgresRow) throws -> APITokenRecord? {
        let (id, name, prefix, hash, role, owner, created, lastUsed, expires) = try row.decode(
            (Int64, String, String, String, String, String, Int64, Int64?, Int64?).self
        )
        guard let role = Role(rawValue: role) else { return nil }
        return APITokenRecord(
            id: id,
            name: name,
            prefix: prefix,
            tokenHash: hash,
            role: role,
            owner: owner,
            createdAt: Timestamp(unixNanos: created),
            lastUsedAt: lastUsed.map(Timestamp.init(unixNanos:)),
            expiresAt: expires.map(Timestamp.init(unixNanos:))
        )
    }
}
