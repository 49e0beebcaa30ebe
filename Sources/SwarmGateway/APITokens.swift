import Foundation
// why: issue(...) takes a Store and returns its token record.
public import SwarmCore
public import SwarmStore

/// Issues bearer API tokens: `ssw_` plus 32 random bytes, stored only as a SHA-256 hash.
public enum APITokens {
    /// Stores a new token and returns it with its secret (which exists nowhere else afterwards).
    public static func issue(
        store: any Store,
        name: String,
        role: Role,
        owner: String,
        expiresAt: Timestamp? = nil
    ) async throws -> (token: APITokenRecord, secret: String) {
        let secret = "ssw_" + Secrets.random()
        let token = try await store.createToken(
            APITokenRecord(
                name: name,
                prefix: String(secret.prefix(8)),
                tokenHash: Secrets.digest(secret),
                role: role,
                owner: owner,
                createdAt: .now(),
                expiresAt: expiresAt
            )
        )
        return (token, secret)
    }
}
