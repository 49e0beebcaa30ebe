import Foundation
import Hummingbird
import Logging
import SwarmCore
import SwarmStore

/// Users and API tokens (admin only).
struct AccountRoutes {
    let store: any Store
    let hasher: PasswordHasher
    /// Open live-update streams end when their user is disabled, deleted or given a new password.
    let live: LiveEvents

    struct NewUser: StrictBody {
        static let fields: Set<String> = ["username", "password", "role"]
        var username: String
        var password: String
        var role: Role
    }

    struct UserChange: StrictBody {
        static let fields: Set<String> = ["role", "password", "disabled"]
        var role: Role?
        var password: String?
        var disabled: Bool?
    }

    struct NewToken: StrictBody {
        static let fields: Set<String> = ["name", "role", "expiresInDays"]
        var name: String
        var role: Role
        var expiresInDays: Int?
    }

    struct Users: Encodable { var users: [UserDTO] }
    struct Tokens: Encodable { var tokens: [TokenDTO] }
    struct CreatedToken: Encodable {
        var token: TokenDTO
        var secret: String
    }

    /// Account changes go to the event log, so admins see who changed access and when.
    private func audit(_ kind: String, _ subject: String, _ message: String) async throws {
        try await store.appendEvent(EventRecord(kind: kind, subject: subject, message: message))
    }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "users", .role(.admin)) { _, _ in
            try JSONResponse.make(Users(users: try await store.users().map(UserDTO.init)))
        }
        api.on(.post, "users", .role(.admin)) { request, context in
            let body = try await request.decodeStrict(NewUser.self, context: context)
            guard UserRecord.isValidUsername(body.username) else {
                throw GatewayError.badRequest("username must be 1–64 characters of letters, digits and . _ @ -")
            }
            try PasswordHasher.check(body.password)
            let user = UserRecord(
                username: body.username,
                passwordHash: try await hasher.hash(body.password),
                role: body.role
            )
            try await store.createUser(user)
            let message =
                "user \(user.username) (\(user.role.rawValue)) created by \(context.principal?.username ?? "?")"
            context.logger.notice("\(message)")
            try await audit("user.created", user.username, message)
            return try JSONResponse.make(UserDTO(user), status: .created)
        }
        api.on(.patch, "users/:username", .role(.admin)) { request, context in
            let username = try context.parameters.require("username")
            let body = try await request.decodeStrict(UserChange.self, context: context)
            if username == context.principal?.username,
                body.role.map({ $0 != .admin }) ?? false || body.disabled == true
            {
                throw GatewayError.badRequest("you cannot demote or disable yourself; ask another admin")
            }
            var hash: String?
            if let password = body.password {
                try PasswordHasher.check(password)
                hash = try await hasher.hash(password)
            }
            let user = try await store.updateUser(
                username,
                role: body.role,
                passwordHash: hash,
                disabled: body.disabled
            )
            if user.disabled || hash != nil { live.endStreams(of: username) }
            context.logger.notice("user \(username) changed by \(context.principal?.username ?? "?")")
            try await audit(
                "user.changed",
                username,
                "user \(username) changed (role \(user.role.rawValue)\(user.disabled ? ", disabled" : "")) by \(context.principal?.username ?? "?")"
            )
            return try JSONResponse.make(UserDTO(user))
        }
        api.on(.delete, "users/:username", .role(.admin)) { _, context in
            let username = try context.parameters.require("username")
            guard username != context.principal?.username else {
                throw GatewayError.badRequest("you cannot delete yourself; ask another admin")
            }
            try await store.deleteUser(username)
            live.endStreams(of: username)
            let message = "user \(username) deleted by \(context.principal?.username ?? "?")"
            context.logger.notice("\(message)")
            try await audit("user.deleted", username, message)
            return JSONResponse.noContent
        }
        api.on(.get, "tokens", .role(.admin)) { _, _ in
            try JSONResponse.make(Tokens(tokens: try await store.tokens().map(TokenDTO.init)))
        }
        api.on(.post, "tokens", .role(.admin)) { request, context in
            guard let principal = context.principal else { throw GatewayError.unauthenticated }
            let body = try await request.decodeStrict(NewToken.self, context: context)
            let name = body.name.trimmingCharacters(in: .whitespaces)
            guard (1...100).contains(name.count) else {
                throw GatewayError.badRequest("token name needs 1–100 characters")
            }
            if let days = body.expiresInDays, !(1...3650).contains(days) {
                throw GatewayError.badRequest("expiresInDays must be 1...3650 (omit it for no expiry)")
            }
            let (token, secret) = try await APITokens.issue(
                store: store,
                name: name,
                role: body.role,
                owner: principal.username,
                expiresAt: body.expiresInDays.map { .now() + .seconds($0 * 86_400) }
            )
            let message = "API token \(token.id) '\(name)' (\(body.role.rawValue)) created by \(principal.username)"
            context.logger.notice("\(message)")
            try await audit("token.created", "\(token.id)", message)
            return try JSONResponse.make(CreatedToken(token: TokenDTO(token), secret: secret), status: .created)
        }
        api.on(.delete, "tokens/:id", .role(.admin)) { _, context in
            guard let id = Int64(try context.parameters.require("id")) else {
                throw GatewayError.badRequest("token id must be an integer")
            }
            try await store.deleteToken(id: id)
            context.logger.notice("API token \(id) revoked by \(context.principal?.username ?? "?")")
            try await audit(
                "token.revoked",
                "\(id)",
                "API token \(id) revoked by \(context.principal?.username ?? "?")"
            )
            return JSONResponse.noContent
        }
    }
}
