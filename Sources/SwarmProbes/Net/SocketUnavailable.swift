import SwarmCore

/// Why a probe's socket could not be opened, as the failed measurement records it: the status
/// (permission denied and local failure differ) and a reason worded for the operator.
struct SocketUnavailable: Error, Sendable {
    var status: MeasurementStatus
    var reason: String
}
