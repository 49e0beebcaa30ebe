// why: the readings are public (the CLI shows them too): they take a Store and DeviceRecords and
// return SwarmAnalytics folds over SwarmCore values.
public import SwarmAnalytics
public import SwarmCore
public import SwarmStore
import SwarmWire

/// What the store says about managed devices: their status and the devices along a traceroute
/// path. Reads rows, decodes each result once (lazily, so a fold that stops early decodes no
/// further) and hands them to the SwarmAnalytics folds; the API and `streamswarm devices` use it.
public struct DeviceReadings: Sendable {
    public let store: any DeviceResultStore

    public init(store: any DeviceResultStore) { self.store = store }

    /// State, reason and error kind from the newest result only: one row, for lists of devices.
    public func newest(_ device: DeviceRecord) async throws -> DeviceStatus {
        try await status(of: device, rows: 1)
    }

    /// The newest result, plus the newest figures and the capabilities from the newest results that
    /// carry them, looking back at most `lookback` results.
    public func latest(_ device: DeviceRecord, lookback: Int = 2000) async throws -> DeviceStatus {
        try await status(of: device, rows: lookback)
    }

    private func status(of device: DeviceRecord, rows: Int) async throws -> DeviceStatus {
        guard let test = device.testID else { return DeviceStatus() }
        let recent = try await store.measurements(test: test, agent: nil, range: .all, limit: rows, newestFirst: true)
        return DeviceStatus.fold(newestFirst: recent.lazy.map(\.observation))
    }

    /// A device by id or name.
    /// - Throws: ``StoreError`` `.notFound` saying how to list them.
    public func find(_ idOrName: String) async throws -> DeviceRecord {
        if let id = Int64(idOrName), let device = try await store.device(id: id) { return device }
        if let device = try await store.device(named: idOrName) { return device }
        throw StoreError(code: .notFound, message: "no device \(idOrName); 'streamswarm devices list' shows them")
    }

    /// The traceroute results of `test` in `range` (the newest 2,000), correlated with the
    /// inventory's devices and each one's figures over the same window.
    public func path(test: TestID, agent: AgentName?, range: TimeRange) async throws -> DevicePath {
        let traces = try await store.measurements(
            test: test,
            agent: agent,
            range: range,
            limit: 2000,
            newestFirst: true
        )
        var byAddress: [String: DeviceRecord] = [:]
        for device in try await store.devices() {
            for address in device.allAddresses { byAddress[address] = device }
        }
        var correlation = PathCorrelation.fold(
            traces: traces.lazy.filter { $0.kind == .traceroute }.map(\.observation),
            devicesByAddress: byAddress
        )
        var figures: [DeviceRecord: DeviceFigures] = [:]
        for device in correlation.devices {
            guard let deviceTest = device.testID else { continue }
            let rows = try await store.measurements(
                test: deviceTest,
                agent: nil,
                range: range,
                limit: 5000,
                newestFirst: false
            )
            figures[device] = DeviceFigures.fold(oldestFirst: rows.lazy.map(\.observation))
        }
        correlation.attach(figures)
        return DevicePath(test: test, range: range, runs: correlation.runs, hops: correlation.hops)
    }
}

/// `GET /results/path` and its CLI/test readers: a traceroute test's hops in a window, with the
/// inventory device (if any) at each and its figures.
public struct DevicePath: Sendable {
    public typealias Hop = PathCorrelation<DeviceRecord>.Hop
    public var test: TestID
    public var range: TimeRange
    /// Traceroute runs read.
    public var runs: Int
    public var hops: [Hop]
}
