import Logging
// why: connection(_:store:vault:) is public for the CLI's one-shot reads.
public import SwarmCore
public import SwarmPKI
public import SwarmStore

/// Fills in gNMI assignments: a test naming an inventory device gets the device's connection,
/// credentials unsealed with the operator's device key, when it is pushed to the agent. Stored
/// tests never hold them; only the mutually authenticated mesh stream carries them.
public enum DeviceTargets {
    static func resolve(
        _ assignments: [TestAssignment],
        store: any DeviceStore,
        vault: DeviceVault?,
        logger: Logger
    ) async throws -> [TestAssignment] {
        var resolved: [TestAssignment] = []
        // One inventory read per reconcile, not one per device (an agent may hold hundreds).
        var inventory: [Int64: DeviceRecord]?
        for var assignment in assignments {
            let deviceID = assignment.spec.options.gnmi.deviceID
            guard assignment.spec.probes.contains(.gnmi), deviceID > 0 else {
                resolved.append(assignment)
                continue
            }
            if inventory == nil {
                inventory = Dictionary(uniqueKeysWithValues: try await store.devices().map { ($0.id, $0) })
            }
            do {
                assignment.spec.options.gnmi.connection = try connection(
                    inventory?[deviceID],
                    id: deviceID,
                    vault: vault
                )
            } catch {
                let reason = (error as? PKIError)?.message ?? (error as? StoreError)?.message ?? "\(error)"
                logger.warning("cannot hand out device \(deviceID) to its agents: \(reason)")
                assignment.spec.options.gnmi.unavailableReason = reason
            }
            resolved.append(assignment)
        }
        return resolved
    }

    /// The connection an agent gets for device `id`: settings from the inventory, credentials
    /// unsealed with `vault` (also used by `devices get` for a one-shot read from the CLI host).
    public static func connection(
        _ id: Int64,
        store: any DeviceStore,
        vault: DeviceVault?
    ) async throws -> GNMIConnection {
        try connection(try await store.device(id: id), id: id, vault: vault)
    }

    static func connection(_ record: DeviceRecord?, id: Int64, vault: DeviceVault?) throws -> GNMIConnection {
        guard let device = record else {
            throw StoreError(code: .notFound, message: "device \(id) is no longer in the inventory")
        }
        var secrets = DeviceSecrets()
        if !device.sealedSecrets.isEmpty {
            guard let vault else {
                throw StoreError(
                    code: .invalidInput,
                    message: "the server has no device key to unseal the credentials of \(device.name): "
                        + "start it with --device-key-file FILE or \(DeviceVault.environmentVariable)"
                )
            }
            secrets = try vault.open(device.sealedSecrets, for: device.name)
        }
        return GNMIConnection(
            name: device.name,
            address: device.address,
            port: device.port,
            auth: device.auth,
            username: device.username,
            password: secrets.password,
            clientCertificatePEM: device.clientCertificatePEM,
            clientKeyPEM: secrets.clientKeyPEM,
            caCertificatePEM: device.caCertificatePEM,
            serverName: device.serverName,
            pinnedCertificatePEM: device.pinnedCertificatePEM,
            subscriptions: device.subscriptions,
            mode: device.mode,
            encoding: device.encoding,
            pollInterval: device.pollInterval
        )
    }
}
