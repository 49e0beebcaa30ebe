import GRDB
// why: the conformances take and return SwarmCore and SwarmStore types.
public import SwarmCore
public import SwarmStore

// AccountStore: users, browser sessions and API tokens.
extension SQLiteStore {
    public func createUser(_ user: UserRecord) async throws {
        guard UserRecord.isValidUsername(user.username) else {
            throw StoreError(
                code: .invalidInput,
                message: "username must be 1–64 characters of letters, digits and . _ @ -"
            )
        }
        try await write { db in
            do {
                try db.execute(
                    sql: """
                        INSERT INTO users (username, password_hash, role, disabled, created_at, last_login_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        user.username, user.passwordHash, user.role.rawValue, user.disabled, user.createdAt.unixNanos,
                        user.lastLoginAt?.unixNanos,
                    ]
                )
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError(code: .conflict, message: "user \(user.username) exists already")
            }
            try Self.appendEvent(
                db,
                EventRecord(
                    kind: "user.created",
                    subject: user.username,
                    message: "user \(user.username) created (\(user.role.rawValue))"
                )
            )
        }
    }

    public func users() async throws -> [UserRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY username").compactMap(Self.userRecord)
        }
    }

    public func user(_ username: String) async throws -> UserRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE username = ?", arguments: [username])
                .flatMap(Self.userRecord)
        }
    }

    public func updateUser(
        _ username: String,
        role: Role?,
        passwordHash: String?,
        disabled: Bool?
    ) async throws -> UserRecord {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE users SET role = COALESCE(?, role), password_hash = COALESCE(?, password_hash),
                                     disabled = COALESCE(?, disabled)
                    WHERE username = ?
                    """,
                arguments: [role?.rawValue, passwordHash, disabled, username]
            )
            guard db.changesCount > 0 else {
                throw StoreError(code: .notFound, message: "user \(username) does not exist")
            }
            if passwordHash != nil || disabled == true {
                // A new password or a disabled account signs the user out everywhere.
                try db.execute(sql: "DELETE FROM sessions WHERE username = ?", arguments: [username])
            }
        }
        guard let user = try await user(username) else {
            throw StoreError(code: .notFound, message: "user \(username) does not exist")
        }
        return user
    }

    public func deleteUser(_ username: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM users WHERE username = ?", arguments: [username])
            guard db.changesCount > 0 else {
                throw StoreError(code: .notFound, message: "user \(username) does not exist")
            }
            try Self.appendEvent(
                db,
                EventRecord(kind: "user.deleted", subject: username, message: "user \(username) deleted")
            )
        }
    }

    public func recordLogin(_ username: String, at: Timestamp) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE users SET last_login_at = ? WHERE username = ?",
                arguments: [at.unixNanos, username]
            )
        }
    }

    public func createSession(_ session: SessionRecord) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO sessions (token_hash, username, csrf_token, created_at, last_seen_at)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.tokenHash, session.username, session.csrfToken, session.createdAt.unixNanos,
                    session.lastSeenAt.unixNanos,
                ]
            )
        }
    }

    public func session(tokenHash: String) async throws -> SessionRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE token_hash = ?", arguments: [tokenHash]).map {
                row in
                SessionRecord(
                    tokenHash: row["token_hash"],
                    username: row["username"],
                    csrfToken: row["csrf_token"],
                    createdAt: Timestamp(unixNanos: row["created_at"]),
                    lastSeenAt: Timestamp(unixNanos: row["last_seen_at"])
                )
            }
        }
    }

    public func touchSession(tokenHash: String, at: Timestamp) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?",
                arguments: [at.unixNanos, tokenHash]
            )
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    public func deleteSessions(idleBefore: Timestamp, createdBefore: Timestamp) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?",
                arguments: [idleBefore.unixNanos, createdBefore.unixNanos]
            )
            return db.changesCount
        }
    }

    public func createToken(_ token: APITokenRecord) async throws -> APITokenRecord {
        let id = try await write { db -> Int64 in
            try db.execute(
                sql: """
                    INSERT INTO api_tokens (name, prefix, token_hash, role, owner, created_at, last_used_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.name, token.prefix, token.tokenHash, token.role.rawValue, token.owner,
                    token.createdAt.unixNanos, token.lastUsedAt?.unixNanos, token.expiresAt?.unixNanos,
                ]
            )
            return db.lastInsertedRowID
        }
        var stored = token
        stored.id = id
        return stored
    }

    public func tokens() async throws -> [APITokenRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY id").compactMap(Self.tokenRecord)
        }
    }

    public func token(hash: String) async throws -> APITokenRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE token_hash = ?", arguments: [hash])
                .flatMap(Self.tokenRecord)
        }
    }

    public func touchToken(id: Int64, at: Timestamp) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", arguments: [at.unixNanos, id])
        }
    }

    public func deleteToken(id: Int64) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM api_tokens WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else {
                throw StoreError(code: .notFound, message: "API token \(id) does not exist")
            }
        }
    }

    private static func userRecord(_ row: Row) -> UserRecord? {
        guard let role = Role(rawValue: row["role"]) else { return nil }
        let lastLogin: Int64? = row["last_login_at"]
        return UserRecord(
            username: row["username"],
            passwordHash: row["password_hash"],
            role: role,
            disabled: row["disabled"],
            createdAt: Timestamp(unixNanos: row["created_at"]),
            lastLoginAt: lastLogin.map(Timestamp.init(unixNanos:))
        )
    }

    private static func tokenRecord(_ row: Row) -> APITokenRecord? {
        guard let role = Role(rawValue: row["role"]) else { return nil }
        let lastUsed: Int64? = row["last_used_at"]
        let expires: Int64? = row["expires_at"]
        return APITokenRecord(
            id: row["id"],
            name: row["name"],
            prefix: row["prefix"],
            tokenHash: row["token_hash"],
            role: role,
            owner: row["owner"],
            createdAt: Timestamp(unixNanos: row["created_at"]),
            lastUsedAt: lastUsed.map(Timestamp.init(unixNanos:)),
            expiresAt: expires.map(Timestamp.init(unixNanos:))
        )
    }
}
