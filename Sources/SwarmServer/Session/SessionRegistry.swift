import SwarmCore
import Synchronization

/// A live session as others see it: enough to ask it to reconcile or to close.
final class SessionHandle: Sendable {
    enum Control: Sendable {
        case reconcile
        /// `redirect`: with a drain, the other live servers' addresses for the Goodbye.
        case close(reason: CloseReason, redirect: [String] = [])
    }

    enum CloseReason: Sendable {
        case replaced, drain, revoked
    }

    let agent: AgentName
    let sessionID: String
    let certificateSerial: String
    let controls: AsyncStream<Control>
    private let continuation: AsyncStream<Control>.Continuation

    init(agent: AgentName, sessionID: String, certificateSerial: String) {
        self.agent = agent
        self.sessionID = sessionID
        self.certificateSerial = certificateSerial
        (controls, continuation) = AsyncStream.makeStream(of: Control.self, bufferingPolicy: .bufferingNewest(16))
    }

    func send(_ control: Control) { continuation.yield(control) }
    func finish() { continuation.finish() }
}

/// The one live session per agent identity. Registering a second session for an agent replaces the
/// first, which is told to say Goodbye(replaced) and close.
final class SessionRegistry: Sendable {
    private let sessions = Mutex<[AgentName: SessionHandle]>([:])

    /// Registers `handle`, returning the session it replaced (already told to close).
    @discardableResult
    func register(_ handle: SessionHandle) -> SessionHandle? {
        let previous = sessions.withLock { sessions in
            let previous = sessions[handle.agent]
            sessions[handle.agent] = handle
            return previous
        }
        previous?.send(.close(reason: .replaced))
        return previous
    }

    /// Removes `handle` if it is still the agent's current session.
    func remove(_ handle: SessionHandle) {
        sessions.withLock { sessions in
            if sessions[handle.agent] === handle { sessions[handle.agent] = nil }
        }
    }

    func session(for agent: AgentName) -> SessionHandle? {
        sessions.withLock { $0[agent] }
    }

    var count: Int { sessions.withLock { $0.count } }

    func all() -> [SessionHandle] { sessions.withLock { Array($0.values) } }

    /// Closes sessions whose certificate serial was just revoked.
    func closeSessions(withSerials serials: Set<String>) -> Int {
        let targets = sessions.withLock { $0.values.filter { serials.contains($0.certificateSerial) } }
        for handle in targets { handle.send(.close(reason: .revoked)) }
        return targets.count
    }
}
