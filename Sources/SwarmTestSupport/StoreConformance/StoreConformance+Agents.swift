import SwarmCore
import SwarmStore
import Testing

// AgentStore: sessions, observed state, delete and revoke.
extension StoreConformance {
    static let agentContracts: [Contract] = [
        Contract("agents: a session start creates the agent online with its version, host facts and session") {
            let store = $0.store
            #expect(try await store.agents().isEmpty)
            try await connect(store, alpha, session: "first", at: Timestamp(unixNanos: 1_000))
            let agent = try #require(try await store.agent(alpha))
            #expect(agent.online && agent.sessionID == "first" && agent.agentVersion == "conformance")
            #expect(agent.host?.hostname == "alpha.example" && agent.host?.cpuCount == 2)
            #expect(agent.firstSeen == Timestamp(unixNanos: 1_000) && agent.lastSeen == Timestamp(unixNanos: 1_000))
            #expect(agent.revokedAt == nil && agent.wentOfflineAt == nil)
            // A later session keeps the first sighting and takes over.
            try await connect(store, alpha, session: "second", at: Timestamp(unixNanos: 2_000))
            let again = try #require(try await store.agent(alpha))
            #expect(again.firstSeen == Timestamp(unixNanos: 1_000) && again.sessionID == "second")
            try await connect(store, beta)
            #expect(try await store.agents().map(\.name) == [alpha, beta])
            #expect(try await store.agent(gamma) == nil)
        },
        Contract("agents: markOffline from a replaced session is ignored; the current session's stores the time") {
            let store = $0.store
            try await connect(store, alpha, session: "old")
            try await connect(store, alpha, session: "new")
            try await store.markOffline(alpha, sessionID: "old", at: Timestamp(unixNanos: 5))
            #expect(try await store.agent(alpha)?.online == true)
            try await store.markOffline(alpha, sessionID: "new", at: Timestamp(unixNanos: 7))
            let agent = try #require(try await store.agent(alpha))
            #expect(!agent.online && agent.wentOfflineAt == Timestamp(unixNanos: 7))
            // Reconnecting clears the offline time.
            try await connect(store, alpha, session: "newer")
            #expect(try await store.agent(alpha)?.wentOfflineAt == nil)
        },
        Contract("agents: heartbeat status of many agents is written in one call; a nil load keeps the last one") {
            let store = $0.store
            try await connect(store, alpha)
            try await connect(store, beta)
            try await store.recordAgentStatus([
                AgentStatusUpdate(agent: alpha, lastSeen: Timestamp(unixNanos: 99), load: LoadSnapshot(spoolDepth: 3)),
                AgentStatusUpdate(agent: beta, lastSeen: Timestamp(unixNanos: 98), load: LoadSnapshot(load1: 1.5)),
            ])
            try await store.recordAgentStatus([])
            try await store.recordAgentStatus([
                AgentStatusUpdate(agent: alpha, lastSeen: Timestamp(unixNanos: 100), load: nil)
            ])
            let a = try #require(try await store.agent(alpha))
            let b = try #require(try await store.agent(beta))
            #expect(a.lastSeen == Timestamp(unixNanos: 100) && a.load?.spoolDepth == 3)
            #expect(b.lastSeen == Timestamp(unixNanos: 98) && b.load?.load1 == 1.5)
        },
        Contract(
            "agents: delete is refused while online and for unknown agents; an offline agent goes with its assignments"
        ) {
            let store = $0.store
            try await connect(store, alpha, session: "s")
            let test = try await store.createTest(spec("t"), agents: [alpha, beta])
            await expectStoreError(.conflict, "an online agent must not be deleted") {
                try await store.deleteAgent(alpha)
            }
            await expectStoreError(.notFound) { try await store.deleteAgent(gamma) }
            try await store.markOffline(alpha, sessionID: "s", at: .now())
            try await store.deleteAgent(alpha)
            #expect(try await store.agent(alpha) == nil)
            #expect(try await store.agents().map(\.name) == [beta])
            #expect(try await store.test(test.id)?.agents == [beta])
            #expect(try await store.activeAssignments(for: alpha).isEmpty)
            // The name can come back as a new agent.
            try await connect(store, alpha, session: "back")
            #expect(try await store.agent(alpha)?.online == true)
        },
        Contract("agents: a revoke is kept by name and by certificate serial, and outlives deleting the agent") {
            let store = $0.store
            await expectStoreError(.notFound) { _ = try await store.revokeAgent(gamma, at: .now()) }
            try await connect(store, alpha, session: "s", serial: "0A1B")
            #expect(try await store.isRevoked(alpha, serial: "0A1B") == false)
            let revokedAt = Timestamp(unixNanos: 42_000)
            let revoked = try await store.revokeAgent(alpha, at: revokedAt)
            #expect(revoked.name == alpha && revoked.revokedAt == revokedAt)
            // A second revoke keeps the first time.
            #expect(try await store.revokeAgent(alpha, at: Timestamp(unixNanos: 43_000)).revokedAt == revokedAt)
            #expect(try await store.isRevoked(alpha, serial: ""))
            #expect(try await store.isRevoked(beta, serial: "0A1B"), "the certificate is refused under any name")
            #expect(try await store.isRevoked(beta, serial: "") == false)
            #expect(try await store.isRevoked(beta, serial: "FFFF") == false)
            try await store.markOffline(alpha, sessionID: "s", at: .now())
            try await store.deleteAgent(alpha)
            #expect(try await store.isRevoked(alpha, serial: ""), "deleting the agent must not undo its revoke")
            #expect(try await store.isRevoked(gamma, serial: "0A1B"))
        },
    ]
}
