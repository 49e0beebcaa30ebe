// why: the status is read from a Store and describes SwarmCore/SwarmStore records.
public import SwarmCore
public import SwarmStore

/// A device's status as its latest collection result tells it (what CLI and API show).
public struct DeviceStatus: Sendable {
    public var state: String
    public var at: Timestamp?
    public var reason: String
    public var errorKind: String
    public var snapshot: GNMISnapshot?
    public var capabilities: GNMISnapshot.Capabilities?

    public var summary: String {
        guard let at else { return "no results yet" }
        return reason.isEmpty ? "\(state) at \(at)" : "\(state) at \(at): \(reason)"
    }

    /// The newest result, and the capabilities from the newest result that carries them.
    public static func latest(_ device: DeviceRecord, store: any Store) async throws -> DeviceStatus {
        var status = DeviceStatus(state: "pending", at: nil, reason: "", errorKind: "")
        guard let test = device.testID else { return status }
        let recent = try await store.measurements(test: test, agent: nil, range: .all, limit: 200, newestFirst: true)
        guard let newest = recent.first else { return status }
        status.state = newest.status.rawValue
        status.at = newest.startedAt
        status.reason = newest.reason
        if let snapshot = try? MeasurementEncoding.decodeGNMI(newest.payload) {
            status.errorKind = snapshot.errorKind
            if newest.status == .ok { status.snapshot = snapshot }
        }
        if status.snapshot == nil {
            status.snapshot =
                recent.lazy.filter { $0.status == .ok }.compactMap { try? MeasurementEncoding.decodeGNMI($0.payload) }
                .first
        }
        status.capabilities =
            recent.lazy.compactMap { try? MeasurementEncoding.decodeGNMI($0.payload).capabilities }.first
        return status
    }

    /// A device by id or name.
    public static func find(_ idOrName: String, store: any Store) async throws -> DeviceRecord {
        if let id = Int64(idOrName), let device = try await store.device(id: id) { return device }
        if let device = try await store.device(named: idOrName) { return device }
        throw StoreError(code: .notFound, message: "no device \(idOrName); 'streamswarm devices list' shows them")
    }
}
