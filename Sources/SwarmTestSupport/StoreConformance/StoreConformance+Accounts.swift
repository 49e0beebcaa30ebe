import Foundation
import SwarmCore
import SwarmStore
import Testing

// AccountStore (users, sessions, tokens), DeviceStore, SettingsStore and EventStore.
extension StoreConformance {
    static let accountContracts: [Contract] = [
        Contract("accounts: users are created once, listed by name, updated and deleted with their sessions and tokens")
        {
            let store = $0.store
            let created = Timestamp(unixNanos: 1_000_000)
            try await store.createUser(
                UserRecord(username: "bo", passwordHash: "h1", role: .viewer, createdAt: created)
            )
            try await store.createUser(UserRecord(username: "al", passwordHash: "h2", role: .admin, createdAt: created))
            await expectStoreError(.conflict) {
                try await store.createUser(UserRecord(username: "bo", passwordHash: "x", role: .admin))
            }
            await expectStoreError(.invalidInput) {
                try await store.createUser(UserRecord(username: "no spaces", passwordHash: "x", role: .admin))
            }
            #expect(try await store.users().map(\.username) == ["al", "bo"])
            #expect(
                try await store.user("bo")
                    == UserRecord(username: "bo", passwordHash: "h1", role: .viewer, createdAt: created)
            )
            #expect(try await store.user("nobody") == nil)
            let promoted = try await store.updateUser("bo", role: .operator, passwordHash: nil, disabled: nil)
            #expect(promoted.role == .operator && promoted.passwordHash == "h1" && !promoted.disabled)
            let disabled = try await store.updateUser("bo", role: nil, passwordHash: "h3", disabled: true)
            #expect(disabled.role == .operator && disabled.passwordHash == "h3" && disabled.disabled)
            await expectStoreError(.notFound) {
                _ = try await store.updateUser("nobody", role: .admin, passwordHash: nil, disabled: nil)
            }
            try await store.recordLogin("al", at: Timestamp(unixNanos: 5_000_000))
            #expect(try await store.user("al")?.lastLoginAt == Timestamp(unixNanos: 5_000_000))

            try await store.createSession(session("al-session", "al"))
            _ = try await store.createToken(token("al-token", owner: "al"))
            try await store.deleteUser("al")
            #expect(try await store.user("al") == nil)
            #expect(try await store.session(tokenHash: "al-session") == nil)
            #expect(try await store.token(hash: "al-token") == nil)
            await expectStoreError(.notFound) { try await store.deleteUser("al") }
        },
        Contract(
            "accounts: sessions are found by hash, touched, deleted, swept when idle or old, and end on a new password"
        ) {
            let store = $0.store
            try await store.createUser(UserRecord(username: "al", passwordHash: "h", role: .admin))
            try await store.createSession(session("a", "al", created: 100, seen: 100))
            try await store.createSession(session("b", "al", created: 100, seen: 100))
            try await store.createSession(session("c", "al", created: 500, seen: 500))
            #expect(try await store.session(tokenHash: "a") == session("a", "al", created: 100, seen: 100))
            #expect(try await store.session(tokenHash: "missing") == nil)
            try await store.touchSession(tokenHash: "a", at: Timestamp(unixNanos: 900))
            #expect(try await store.session(tokenHash: "a")?.lastSeenAt == Timestamp(unixNanos: 900))
            try await store.deleteSession(tokenHash: "b")
            #expect(try await store.session(tokenHash: "b") == nil)
            // Idle since before 600 (c) goes; a is recent. Then created before 200 (a) goes.
            #expect(
                try await store.deleteSessions(
                    idleBefore: Timestamp(unixNanos: 600),
                    createdBefore: Timestamp(unixNanos: 0)
                )
                    == 1
            )
            #expect(try await store.session(tokenHash: "c") == nil)
            #expect(
                try await store.deleteSessions(
                    idleBefore: Timestamp(unixNanos: 0),
                    createdBefore: Timestamp(unixNanos: 200)
                )
                    == 1
            )
            #expect(try await store.session(tokenHash: "a") == nil)
            // A new password (or disabling) signs the user out everywhere; a role change does not.
            try await store.createSession(session("d", "al"))
            _ = try await store.updateUser("al", role: .viewer, passwordHash: nil, disabled: nil)
            #expect(try await store.session(tokenHash: "d") != nil)
            _ = try await store.updateUser("al", role: nil, passwordHash: "new", disabled: nil)
            #expect(try await store.session(tokenHash: "d") == nil)
            try await store.createSession(session("e", "al"))
            _ = try await store.updateUser("al", role: nil, passwordHash: nil, disabled: true)
            #expect(try await store.session(tokenHash: "e") == nil)
        },
        Contract("accounts: tokens get ids, are found by hash, touched and deleted; an unknown id is notFound") {
            let store = $0.store
            try await store.createUser(UserRecord(username: "al", passwordHash: "h", role: .admin))
            let first = try await store.createToken(token("t1", owner: "al", expires: 9_000))
            let second = try await store.createToken(token("t2", owner: "al"))
            #expect(first.id != second.id && first.id > 0 && second.id > 0)
            #expect(try await store.tokens() == [first, second])
            var expected = token("t1", owner: "al", expires: 9_000)
            expected.id = first.id
            #expect(try await store.token(hash: "t1") == expected)
            #expect(try await store.token(hash: "nope") == nil)
            try await store.touchToken(id: first.id, at: Timestamp(unixNanos: 7_000))
            #expect(try await store.token(hash: "t1")?.lastUsedAt == Timestamp(unixNanos: 7_000))
            try await store.deleteToken(id: first.id)
            #expect(try await store.tokens().map(\.id) == [second.id])
            await expectStoreError(.notFound) { try await store.deleteToken(id: first.id) }
        },
    ]

    static let inventoryContracts: [Contract] = [
        Contract(
            "devices: a device is stored with a gnmi collection test for its agents, found by id and name, and removed"
        ) {
            let store = $0.store
            let device = DeviceRecord(
                name: "r1",
                address: "192.0.2.1",
                port: 9339,
                interfaceAddresses: ["198.51.100.1"],
                auth: .password,
                username: "admin",
                sealedSecrets: Data([9, 9, 9]),
                agents: [alpha, beta],
                createdAt: Timestamp(unixNanos: 77)
            )
            let stored = try await store.createDevice(device)
            #expect(stored.id > 0 && stored.name == "r1" && stored.interfaceAddresses == ["198.51.100.1"])
            #expect(stored.sealedSecrets == Data([9, 9, 9]) && stored.agents == [alpha, beta])
            let testID = try #require(stored.testID)
            let test = try #require(try await store.test(testID))
            #expect(test.spec.probes == [.gnmi] && test.spec.options.gnmi.deviceID == stored.id)
            #expect(test.agents == [alpha, beta] && test.state == .active)
            #expect(try await store.device(id: stored.id) == stored)
            #expect(try await store.device(named: "r1") == stored)
            #expect(try await store.devices() == [stored])
            await expectStoreError(.conflict) { _ = try await store.createDevice(device) }
            var invalid = device
            invalid.name = "r2"
            invalid.agents = []
            await expectStoreError(.invalidInput) { _ = try await store.createDevice(invalid) }
            #expect(try await store.devices().count == 1)

            try await store.deleteDevice(id: stored.id)
            #expect(try await store.device(id: stored.id) == nil)
            #expect(try await store.devices().isEmpty)
            #expect(try await store.test(testID)?.state == .cancelled, "its results stay with a stopped test")
            await expectStoreError(.notFound) { try await store.deleteDevice(id: stored.id) }
        },
        Contract("settings: a value is set, overwritten and read back; an unknown key is nil") {
            let store = $0.store
            #expect(try await store.setting("mesh.colours") == nil)
            try await store.setSetting("mesh.colours", value: "{\"warn\":50}")
            try await store.setSetting("other", value: "")
            #expect(try await store.setting("mesh.colours") == "{\"warn\":50}")
            try await store.setSetting("mesh.colours", value: "{\"warn\":60}")
            #expect(try await store.setting("mesh.colours") == "{\"warn\":60}")
            #expect(try await store.setting("other") == "")
        },
        Contract("events: newest first within a limit; account events only for admins; mutations log their own") {
            let store = $0.store
            for n in 1...3 {
                try await store.appendEvent(
                    EventRecord(
                        at: Timestamp(unixNanos: Int64(n)),
                        kind: "test.created",
                        subject: "\(n)",
                        message: "m\(n)"
                    )
                )
            }
            try await store.createUser(UserRecord(username: "al", passwordHash: "h", role: .admin))
            try await connect(store, alpha)
            let all = try await store.events(limit: 100)
            #expect(
                all.map(\.kind) == ["agent.online", "user.created", "test.created", "test.created", "test.created"]
            )
            #expect(all.first?.subject == "alpha" && all.last?.message == "m1")
            #expect(Set(all.map(\.id)).count == all.count, "each event has its own id")
            let visible = try await store.events(limit: 100, includingAccounts: false)
            #expect(visible.map(\.kind) == ["agent.online", "test.created", "test.created", "test.created"])
            #expect(try await store.events(limit: 2).map(\.kind) == ["agent.online", "user.created"])
        },
    ]

    static func session(_ hash: String, _ user: String, created: Int64 = 1_000, seen: Int64 = 1_000) -> SessionRecord {
        SessionRecord(
            tokenHash: hash,
            username: user,
            csrfToken: "csrf-\(hash)",
            createdAt: Timestamp(unixNanos: created),
            lastSeenAt: Timestamp(unixNanos: seen)
        )
    }

    static func token(_ hash: String, owner: String, expires: Int64? = nil) -> APITokenRecord {
        APITokenRecord(
            name: "token \(hash)",
            prefix: String(hash.prefix(2)),
            tokenHash: hash,
            role: .operator,
            owner: owner,
            createdAt: Timestamp(unixNanos: 1_000),
            expiresAt: expires.map(Timestamp.init(unixNanos:))
        )
    }
}
