import SwarmCore
import SwarmStore
import Testing

// ServerPresenceStore: liveness survives a server crash.
extension StoreConformance {
    static let serverContracts: [Contract] = [
        Contract("servers: the agents of a server that stopped reporting are marked offline; others stay") {
            let store = $0.store
            let now = Timestamp.now()
            func report(_ id: String, at: Timestamp) async throws {
                try await store.recordServerAlive(
                    ServerPresence(
                        id: id,
                        address: "\(id):7443",
                        version: "1",
                        startedAt: now - .seconds(600),
                        lastSeen: at
                    )
                )
            }
            try await report("alive", at: now)
            try await report("dead", at: now - .seconds(120))
            for (agent, server) in [(alpha, "alive"), (beta, "dead"), (gamma, "dead")] {
                try await store.recordSessionStart(
                    SessionStart(
                        agent: agent,
                        sessionID: "s-\(agent.rawValue)",
                        agentVersion: "1",
                        host: HostFacts(),
                        at: now - .seconds(300),
                        serverID: server
                    )
                )
            }
            // gamma moved to the live server before the sweep: it is that server's now.
            try await store.recordSessionStart(
                SessionStart(
                    agent: gamma,
                    sessionID: "s2",
                    agentVersion: "1",
                    host: HostFacts(),
                    at: now,
                    serverID: "alive"
                )
            )
            #expect(try await store.servers(seenSince: now - .seconds(30)).map(\.id) == ["alive"])
            let marked = try await store.markAgentsOfDeadServersOffline(silentSince: now - .seconds(30), at: now)
            #expect(marked == [beta])
            #expect(try await store.agent(alpha)?.online == true)
            #expect(try await store.agent(beta)?.online == false)
            #expect(try await store.agent(beta)?.wentOfflineAt == now)
            #expect(try await store.agent(gamma)?.online == true)
            let events = try await store.events(limit: 10)
            #expect(events.contains { $0.subject == beta.rawValue && $0.message.contains("dead:7443") })
            #expect(try await store.markAgentsOfDeadServersOffline(silentSince: now - .seconds(30), at: now).isEmpty)
        }
    ]
}

extension StoreConformance {
    static let leaseContracts: [Contract] = [
        Contract("leases: one holder at a time; renewed by its holder; taken over once expired; released") {
            let store = $0.store
            let now = Timestamp.now()
            #expect(try await store.acquireLease("job", holder: "a", until: now + .seconds(15), now: now))
            #expect(try await !store.acquireLease("job", holder: "b", until: now + .seconds(15), now: now))
            #expect(
                try await store.acquireLease("job", holder: "a", until: now + .seconds(30), now: now + .seconds(10))
            )
            // Still a's at +20 s (renewed to +30 s); b takes it once that passed.
            #expect(
                try await !store.acquireLease("job", holder: "b", until: now + .seconds(35), now: now + .seconds(20))
            )
            #expect(
                try await store.acquireLease("job", holder: "b", until: now + .seconds(46), now: now + .seconds(31))
            )
            #expect(
                try await !store.acquireLease("job", holder: "a", until: now + .seconds(47), now: now + .seconds(32))
            )
            #expect(
                try await store.acquireLease("other", holder: "a", until: now + .seconds(47), now: now + .seconds(32))
            )
            try await store.releaseLease("job", holder: "a")  // not a's: nothing happens
            #expect(
                try await !store.acquireLease("job", holder: "a", until: now + .seconds(48), now: now + .seconds(33))
            )
            try await store.releaseLease("job", holder: "b")
            #expect(
                try await store.acquireLease("job", holder: "a", until: now + .seconds(48), now: now + .seconds(33))
            )
        }
    ]
}
