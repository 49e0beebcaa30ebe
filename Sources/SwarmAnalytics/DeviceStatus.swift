// why: the status folds SwarmCore observations and holds SwarmCore values.
public import SwarmCore

/// A device's status as its latest collection results tell it (what CLI and API show).
public struct DeviceStatus: Sendable, Hashable {
    public var state: String
    public var at: Timestamp?
    public var reason: String
    public var errorKind: String
    public var snapshot: GNMISnapshot?
    public var capabilities: GNMISnapshot.Capabilities?

    public init(
        state: String = "pending",
        at: Timestamp? = nil,
        reason: String = "",
        errorKind: String = "",
        snapshot: GNMISnapshot? = nil,
        capabilities: GNMISnapshot.Capabilities? = nil
    ) {
        self.state = state
        self.at = at
        self.reason = reason
        self.errorKind = errorKind
        self.snapshot = snapshot
        self.capabilities = capabilities
    }

    public var summary: String {
        guard let at else { return "no results yet" }
        return reason.isEmpty ? "\(state) at \(at)" : "\(state) at \(at): \(reason)"
    }

    /// Folds a device's results, newest first: state, time and reason (and the error kind) from the
    /// newest; the newest ok figures and the newest capabilities from the first results that carry
    /// them (capabilities ride on the first result after each connect). No results: "pending".
    ///
    /// Stops reading as soon as both are found, so a lazy sequence decodes only what it needs.
    public static func fold(newestFirst results: some Sequence<ProbeObservation>) -> DeviceStatus {
        var status = DeviceStatus()
        var isNewest = true
        for result in results {
            defer { isNewest = false }
            if isNewest {
                status.state = result.status.rawValue
                status.at = result.startedAt
                status.reason = result.reason
            }
            guard case .gnmi(let snapshot)? = result.result else { continue }
            if isNewest { status.errorKind = snapshot.errorKind }
            if status.snapshot == nil, result.status == .ok { status.snapshot = snapshot }
            if status.capabilities == nil { status.capabilities = snapshot.capabilities }
            if status.snapshot != nil, status.capabilities != nil { break }
        }
        return status
    }
}
