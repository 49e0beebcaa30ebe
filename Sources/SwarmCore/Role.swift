/// What a signed-in user or API token may do. Each role includes the ones below it.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Reads everything: agents, tests, results, events.
    case viewer
    /// Also creates, edits, stops, restarts and deletes tests.
    case `operator`
    /// Also manages users, API tokens, agents and settings.
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    /// True when this role may do what `required` allows.
    public func allows(_ required: Role) -> Bool { self >= required }
}
