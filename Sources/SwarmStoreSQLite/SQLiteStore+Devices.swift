import Foundation
import GRDB
import SwarmCore
// why: the conformances take and return SwarmStore types.
public import SwarmStore

// The managed-device inventory (gNMI). A device's collection is an ordinary test of kind `gnmi`
// naming the device, so assignment, ingest and results work as for every probe.
extension SQLiteStore {
    public func createDevice(_ device: DeviceRecord) async throws -> DeviceRecord {
        do { try device.validate() } catch { throw StoreError(code: .invalidInput, message: error.message) }
        let interfaces = try StoredJSON.encode(device.interfaceAddresses)
        let subscriptions = try StoredJSON.encode(device.subscriptions)
        let agents = try StoredJSON.encode(device.agents.map(\.rawValue))
        let id = try await write { db -> Int64 in
            do {
                try db.execute(
                    sql: """
                        INSERT INTO devices (name, address, port, interface_addresses_json, auth, username, sealed_secrets,
                            client_certificate_pem, ca_certificate_pem, server_name, pinned_certificate_pem,
                            subscriptions_json, mode, encoding, poll_interval_ms, report_interval_ms, agents_json,
                            created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        device.name, device.address, device.port, interfaces, device.auth.rawValue, device.username,
                        device.sealedSecrets, device.clientCertificatePEM, device.caCertificatePEM, device.serverName,
                        device.pinnedCertificatePEM, subscriptions, device.mode.rawValue, device.encoding.rawValue,
                        device.pollInterval.milliseconds, device.reportInterval.milliseconds, agents,
                        device.createdAt.unixNanos,
                    ]
                )
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError(code: .conflict, message: "a device named \(device.name) exists already")
            }
            return db.lastInsertedRowID
        }
        var spec = TestSpec(
            name: "gnmi \(device.name)",
            probes: [.gnmi],
            schedule: TestSpec.Schedule(interval: device.reportInterval, randomStartOffset: false)
        )
        spec.options.gnmi.deviceID = id
        let test: TestRecord
        do {
            test = try await createTest(spec, agents: device.agents)
        } catch {
            _ = try? await write { db in try db.execute(sql: "DELETE FROM devices WHERE id = ?", arguments: [id]) }
            throw error
        }
        try await write { db in
            try db.execute(sql: "UPDATE devices SET test_id = ? WHERE id = ?", arguments: [test.id.rawValue, id])
            try Self.appendEvent(
                db,
                EventRecord(
                    kind: "device.created",
                    subject: device.name,
                    message: "device \(device.name) (\(device.address):\(device.port)) added, collected by "
                        + device.agents.map(\.rawValue).joined(separator: ", ")
                )
            )
        }
        guard let stored = try await self.device(id: id) else {
            throw StoreError(code: .notFound, message: "device \(device.name) vanished while it was being added")
        }
        return stored
    }

    public func devices() async throws -> [DeviceRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM devices ORDER BY name").map(Self.deviceRecord)
        }
    }

    public func device(id: Int64) async throws -> DeviceRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM devices WHERE id = ?", arguments: [id]).map(Self.deviceRecord)
        }
    }

    public func device(named name: String) async throws -> DeviceRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM devices WHERE name = ?", arguments: [name]).map(Self.deviceRecord)
        }
    }

    public func deleteDevice(id: Int64) async throws {
        guard let device = try await device(id: id) else {
            throw StoreError(code: .notFound, message: "device \(id) does not exist")
        }
        if let test = device.testID, let record = try await self.test(test), record.state == .active {
            _ = try await cancelTest(test)
        }
        try await write { db in
            try db.execute(sql: "DELETE FROM devices WHERE id = ?", arguments: [id])
            try Self.appendEvent(
                db,
                EventRecord(
                    kind: "device.deleted",
                    subject: device.name,
                    message:
                        "device \(device.name) removed; its results stay with test \(device.testID.map(\.description) ?? "-")"
                )
            )
        }
    }

    static func deviceRecord(_ row: Row) throws -> DeviceRecord {
        let auth: String = row["auth"]
        let mode: String = row["mode"]
        let encoding: String = row["encoding"]
        let testID: Int64? = row["test_id"]
        return DeviceRecord(
            id: row["id"],
            name: row["name"],
            address: row["address"],
            port: row["port"],
            interfaceAddresses: try StoredJSON.decode([String].self, from: row["interface_addresses_json"]),
            auth: GNMIConnection.Auth(rawValue: auth) ?? .password,
            username: row["username"],
            sealedSecrets: row["sealed_secrets"],
            clientCertificatePEM: row["client_certificate_pem"],
            caCertificatePEM: row["ca_certificate_pem"],
            serverName: row["server_name"],
            pinnedCertificatePEM: row["pinned_certificate_pem"],
            subscriptions: try StoredJSON.decode([GNMISubscription].self, from: row["subscriptions_json"]),
            mode: GNMIConnection.Mode(rawValue: mode) ?? .stream,
            encoding: GNMIConnection.Encoding(rawValue: encoding) ?? .jsonIETF,
            pollInterval: .milliseconds(row["poll_interval_ms"] as Int64),
            reportInterval: .milliseconds(row["report_interval_ms"] as Int64),
            agents: try StoredJSON.decode([String].self, from: row["agents_json"]).compactMap(AgentName.init),
            testID: testID.map(TestID.init),
            createdAt: Timestamp(unixNanos: row["created_at"])
        )
    }
}
