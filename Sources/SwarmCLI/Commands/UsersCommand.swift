import ArgumentParser
import Foundation
import Logging
import SwarmCore
import SwarmGateway
import SwarmStore

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage web UI / API users (the first admin is made here: there is no default password).",
        subcommands: [Create.self, List.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user. Without --password-stdin a random password is generated and printed once."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "Username: 1–64 of letters, digits and . _ @ -")
        var username: String
        @Flag(help: "Make the user an admin (same as --role admin).")
        var admin = false
        @Option(help: "viewer, operator or admin.")
        var role: String = "viewer"
        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.users")
            guard let parsedRole = Role(rawValue: admin ? "admin" : role) else {
                throw ValidationError("--role \(role) is not one of viewer, operator, admin")
            }
            guard UserRecord.isValidUsername(username) else {
                throw ValidationError("--username must be 1–64 characters of letters, digits and . _ @ -")
            }
            var password = PasswordHasher.generatePassword()
            var generated = true
            if passwordStdin {
                guard let line = readLine(strippingNewline: true) else {
                    throw ValidationError("--password-stdin: standard input was empty")
                }
                password = line
                generated = false
            }
            do { try PasswordHasher.check(password) } catch { throw ValidationError(error.message) }
            let backend = try store.open(logger: logger)
            let hash = try await PasswordHasher().hash(password)
            do {
                try await backend.createUser(UserRecord(username: username, passwordHash: hash, role: parsedRole))
            } catch let error as StoreError {
                throw ValidationError(error.message)
            }
            print("created \(parsedRole.rawValue) '\(username)'")
            if generated { print("password (shown once): \(password)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.users")
            let users = try await store.open(logger: logger).users()
            if users.isEmpty { print("no users: create one with 'streamswarm users create --admin --username NAME'") }
            for user in users {
                let last = user.lastLoginAt.map { "last sign-in \($0)" } ?? "never signed in"
                print("\(user.username)\t\(user.role.rawValue)\(user.disabled ? "\tdisabled" : "")\t\(last)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a user with their sessions and API tokens.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Argument var username: String

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.users")
            do {
                try await store.open(logger: logger).deleteUser(username)
            } catch let error as StoreError {
                throw ValidationError(error.message)
            }
            print("deleted '\(username)'")
        }
    }
}

/// The dev-mode admin: `admin` with a new random password at every start, printed on the
/// console. Dev mode listens on loopback only, so only this machine can use it.
enum DevAdmin {
    static func reset(store: any Store, hasher: PasswordHasher, logger: Logger) async throws -> String {
        let password = PasswordHasher.generatePassword()
        let hash = try await hasher.hash(password)
        if try await store.user("admin") == nil {
            try await store.createUser(UserRecord(username: "admin", passwordHash: hash, role: .admin))
        } else {
            _ = try await store.updateUser("admin", role: .admin, passwordHash: hash, disabled: false)
        }
        logger.info("dev admin 'admin' has a new password (printed below)")
        return password
    }
}
