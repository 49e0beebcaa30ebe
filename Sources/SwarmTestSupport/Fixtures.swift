// why: the fixture extends a SwarmCore type for tests.
public import SwarmCore

extension AgentName {
    /// A name known to be valid, for test data. A bad literal is a programmer error.
    public static func fixture(_ name: String) -> AgentName {
        guard let value = AgentName(name) else { preconditionFailure("\(name) is not a valid agent name") }
        return value
    }
}
