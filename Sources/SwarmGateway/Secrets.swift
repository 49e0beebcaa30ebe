import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// Random secrets and their stored hashes, and the slow password hash.
enum Secrets {
    /// `bytes` random bytes as unpadded base64url (cookie- and header-safe).
    static func random(bytes: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// SHA-256 in hex: session and API-token secrets are long and random, so a fast hash suffices
    /// and lets the store look them up by hash.
    static func digest(_ secret: String) -> String { digest(Data(secret.utf8)) }

    static func digest(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares without an early exit, so timing does not reveal how much of a token matched.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}

/// bcrypt on the NIO thread pool, so a login never blocks an event loop.
public struct PasswordHasher: Sendable {
    /// bcrypt cost: 12 by default (about 0.25 s a hash on one core); tests may lower it.
    public var cost: UInt8

    public init(cost: UInt8 = 12) { self.cost = cost }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        // bcrypt would compare only the bytes before a NUL; no stored password contains one.
        if password.utf8.contains(0) { return false }
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A random password for generated accounts (dev admin, `users create` without one).
    public static func generatePassword() -> String { Secrets.random(bytes: 15) }

    /// Checks a password is long enough to resist guessing and short enough for bcrypt's input.
    /// Passwords must be 10 characters to 72 bytes.
    public static func check(_ password: String) throws(GatewayError) {
        guard password.count >= 10 else {
            throw GatewayError.badRequest("passwords need at least 10 characters")
        }
        // bcrypt stops at the first NUL: "secret\0anything" would equal "secret".
        guard !password.utf8.contains(0) else {
            throw GatewayError.badRequest("passwords may not contain the NUL character")
        }
        guard password.utf8.count <= 72 else {
            throw GatewayError.badRequest("passwords may have at most 72 bytes (bcrypt ignores the rest)")
        }
    }
}
