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

    /// State, reason and error kind from the newest result only: one row, for lists of devices.
    public static func newest(_ device: DeviceRecord, store: any Store) async throws -> DeviceStatus {
        try await read(device, store: store, rows: 1)
    }

    /// The newest result, plus the newest figures and the capabilities from the newest results that
    /// carry them (capabilities ride on the first result after each connect), looking back at most
    /// `lookback` results.
    public static func latest(
        _ device: DeviceRecord,
        store: any Store,
        lookback: Int = 2000
    ) async throws
        -> DeviceStatus
    {
        try await read(device, store: store, rows: lookback)
    }

    private static func read(_ device: DeviceRecord, store: any Store, rows: Int) async throws -> DeviceStatus {
        var status = DeviceStatus(state: "pending", at: nil, reason: "", errorKind: "")
        guard let test = device.testID else { return status }
        let recent = try await store.measurements(test: test, agent: nil, range: .all, limit: rows, newestFirst: true)
        guard let newest = recent.first else { return status }
        status.state = newest.status.rawValue
        status.at = newest.startedAt
        status.reason = newest.reason
        // Newest first, each row decoded once; a healthy device stops at its first rows.
        for (index, row) in recent.enumerated() {
            guard let snapshot = try? MeasurementEncoding.decodeGNMI(row.payload) else { continue }
            if index == 0 { status.errorKind = snapshot.errorKind }
            if status.snapshot == nil, row.status == .ok { status.snapshot = snapshot }
            if status.capabilities == nil { status.capabilities = snapshot.capabilities }
            if status.snapshot != nil, status.capabilities != nil { break }
        }
        return status
    }

    /// A device by id or name.
    public static func find(_ idOrName: String, store: any Store) async throws -> DeviceRecord {
        if let id = Int64(idOrName), let device = try await store.device(id: id) { return device }
        if let device = try await store.device(named: idOrName) { return device }
        throw StoreError(code: .notFound, message: "no device \(idOrName); 'streamswarm devices list' shows them")
    }
}
