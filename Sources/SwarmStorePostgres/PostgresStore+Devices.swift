import Foundation
import Logging
import PostgresNIO
import SwarmCore
// why: the conformances take and return SwarmStore types.
public import SwarmStore

// The managed-device inventory (gNMI). A device's collection is an ordinary test of kind `gnmi`
// naming the device, so assignment, ingest and results work as for every probe.
extension PostgresStore {
    public func createDevice(_ device: DeviceRecord) async throws -> DeviceRecord {
        do { try device.validate() } catch { throw StoreError(code: .invalidInput, message: error.message) }
        let interfaces = try StoredJSON.encode(device.interfaceAddresses)
        let subscriptions = try StoredJSON.encode(device.subscriptions)
        let agents = try StoredJSON.encode(device.agents.map(\.rawValue))
        let logger = self.logger
        let id = try await transaction("adding a device") { connection -> Int64 in
            let rows: [PostgresRow]
            do {
                rows = try await connection.rows(
                    """
                    INSERT INTO devices (name, address, port, interface_addresses_json, auth, username, sealed_secrets,
                        client_certificate_pem, ca_certificate_pem, server_name, pinned_certificate_pem,
                        subscriptions_json, mode, encoding, poll_interval_ms, report_interval_ms, agents_json, created_at)
                    VALUES (\(device.name), \(device.address), \(device.port), \(interfaces), \(device.auth.rawValue),
                        \(device.username), \(device.sealedSecrets), \(device.clientCertificatePEM),
                        \(device.caCertificatePEM), \(device.serverName), \(device.pinnedCertificatePEM),
                        \(subscriptions), \(device.mode.rawValue), \(device.encoding.rawValue),
                        \(device.pollInterval.milliseconds), \(device.reportInterval.milliseconds), \(agents),
                        \(device.createdAt.unixNanos))
                    RETURNING id
                    """,
                    logger
                )
            } catch  where Self.isUniqueViolation(error) {
                throw StoreError(code: .conflict, message: "a device named \(device.name) exists already")
            }
            guard let id = try rows.first?.decode(Int64.self) else {
                throw StoreError(code: .corrupt, message: "adding a device returned no id")
            }
            return id
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
            // try?: the test's own error is the one to report; a device row left behind is harmless.
            _ = try? await execute("removing a device", "DELETE FROM devices WHERE id = \(id)")
            throw error
        }
        try await transaction("adding a device") { connection in
            try await connection.run("UPDATE devices SET test_id = \(test.id.rawValue) WHERE id = \(id)", logger)
            try await Self.appendEvent(
                connection,
                EventRecord(
                    kind: "device.created",
                    subject: device.name,
                    message: "device \(device.name) (\(device.address):\(device.port)) added, collected by "
                        + device.agents.map(\.rawValue).joined(separator: ", ")
                ),
                logger
            )
        }
        guard let stored = try await self.device(id: id) else {
            throw StoreError(code: .notFound, message: "device \(device.name) vanished while it was being added")
        }
        return stored
    }

    public func devices() async throws -> [DeviceRecord] {
        let logger = self.logger
        return try await read("reading devices") { connection in
            try await connection.rows("SELECT \(unescaped: Self.deviceColumns) FROM devices ORDER BY name", logger)
                .map(Self.deviceRecord)
        }
    }

    public func device(id: Int64) async throws -> DeviceRecord? {
        let logger = self.logger
        return try await read("reading a device") { connection in
            try await connection.rows("SELECT \(unescaped: Self.deviceColumns) FROM devices WHERE id = \(id)", logger)
                .first.map(Self.deviceRecord)
        }
    }

    public func device(named name: String) async throws -> DeviceRecord? {
        let logger = self.logger
        return try await read("reading a device") { connection in
            try await connection.rows(
                "SELECT \(unescaped: Self.deviceColumns) FROM devices WHERE name = \(name)",
                logger
            )
            .first.map(Self.deviceRecord)
        }
    }

    public func deleteDevice(id: Int64) async throws {
        guard let device = try await device(id: id) else {
            throw StoreError(code: .notFound, message: "device \(id) does not exist")
        }
        if let test = device.testID, let record = try await self.test(test), record.state == .active {
            _ = try await cancelTest(test)
        }
        let logger = self.logger
        try await transaction("removing a device") { connection in
            try await connection.run("DELETE FROM devices WHERE id = \(id)", logger)
            try await Self.appendEvent(
                connection,
                EventRecord(
                    kind: "device.deleted",
                    subject: device.name,
                    message:
                        "device \(device.name) removed; its results stay with test \(device.testID.map(\.description) ?? "-")"
                ),
                logger
            )
        }
    }

    private static let deviceColumns = """
        id, name, address, port, interface_addresses_json, auth, username, sealed_secrets, client_certificate_pem,
        ca_certificate_pem, server_name, pinned_certificate_pem, subscriptions_json, mode, encoding, poll_interval_ms,
        report_interval_ms, agents_json, test_id, created_at
        """

    static func deviceRecord(_ row: PostgresRow) throws -> DeviceRecord {
        let (
            id, name, address, port, interfaces, auth, username, sealed, clientPEM, caPEM, serverName, pinnedPEM,
            subscriptions, mode, encoding, poll, report, agents, testID, created
        ) = try row.decode(
            (
                Int64, String, String, Int, String, String, String, Data, String, String, String, String, String,
                String, String, Int64, Int64, String, Int64?, Int64
            ).self
        )
        return DeviceRecord(
            id: id,
            name: name,
            address: address,
            port: port,
            interfaceAddresses: try StoredJSON.decode([String].self, from: interfaces),
            auth: GNMIConnection.Auth(rawValue: auth) ?? .password,
            username: username,
            sealedSecrets: sealed,
            clientCertificatePEM: clientPEM,
            caCertificatePEM: caPEM,
            serverName: serverName,
            pinnedCertificatePEM: pinnedPEM,
            subscriptions: try StoredJSON.decode([GNMISubscription].self, from: subscriptions),
            mode: GNMIConnection.Mode(rawValue: mode) ?? .stream,
            encoding: GNMIConnection.Encoding(rawValue: encoding) ?? .jsonIETF,
            pollInterval: .milliseconds(poll),
            reportInterval: .milliseconds(report),
            agents: try StoredJSON.decode([String].self, from: agents).compactMap(AgentName.init),
            testID: testID.map(TestID.init),
            createdAt: Timestamp(unixNanos: created)
        )
    }
}
