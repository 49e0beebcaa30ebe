import SwarmCore
import SwarmStore
import Synchronization

/// Collects the latest heartbeat state per agent so the store is written once per flush, never
/// once per heartbeat.
final class AgentStatusBoard: Sendable {
    private let pending = Mutex<[AgentName: AgentStatusUpdate]>([:])

    func record(_ update: AgentStatusUpdate) {
        pending.withLock { $0[update.agent] = update }
    }

    func drain() -> [AgentStatusUpdate] {
        pending.withLock { state in
            defer { state.removeAll(keepingCapacity: true) }
            return Array(state.values)
        }
    }
}
