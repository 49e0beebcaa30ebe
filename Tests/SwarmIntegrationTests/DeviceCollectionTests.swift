import Crypto
import Foundation
import SwarmAgent
import SwarmAnalytics
import SwarmCore
import SwarmGNMIProto
import SwarmGNMISimulator
import SwarmGateway
import SwarmPKI
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// gNMI end to end: a device in the inventory (credentials sealed), the server hands it to the
/// agent with the credentials unsealed, the agent collects from the test target and the results
/// land in the store like any measurement.
extension EndToEndTests {
    static let fastSubscriptions = [
        GNMISubscription(path: "/interfaces/interface/state/counters", sampleInterval: .milliseconds(200)),
        GNMISubscription(path: "/interfaces/interface/state/oper-status", mode: .onChange, sampleInterval: .zero),
        GNMISubscription(
            path: "/interfaces/interface/ethernet/state/port-speed",
            mode: .onChange,
            sampleInterval: .zero
        ),
        GNMISubscription(
            path: "/components/component/cpu/utilization/state/instant",
            sampleInterval: .milliseconds(200)
        ),
    ]

    @Test("a device collected by the local agent: sealed credentials, results in the store, status and errors")
    func deviceCollection() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let issued = try pki.device()
            let target = SimulatedGNMIDevice(
                .init(
                    security: .tls(certificatePEM: issued.certificatePEM, keyPEM: issued.privateKeyPEM, clientCA: nil),
                    credentials: (username: "collector", password: "pa55-word-in-clear?")
                )
            )
            try await target.start()
            defer { Task { await target.stop() } }
            let store = try makeTestStore(in: dir)
            let vault = try DeviceVault(keyBytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
            func device(_ name: String, password: String) throws -> DeviceRecord {
                DeviceRecord(
                    name: name,
                    address: "127.0.0.1",
                    port: target.port,
                    auth: .password,
                    username: "collector",
                    sealedSecrets: try vault.seal(DeviceSecrets(password: password), for: name),
                    caCertificatePEM: pki.ca.certificatePEM,
                    subscriptions: Self.fastSubscriptions,
                    reportInterval: .seconds(1),
                    agents: [AgentName.fixture("local")]
                )
            }
            let good = try await store.createDevice(try device("r1", password: "pa55-word-in-clear?"))
            let bad = try await store.createDevice(try device("r2", password: "wrong"))
            #expect(good.testID != nil)
            // The password is sealed: neither the record nor the database file holds it in clear.
            #expect(!String(decoding: good.sealedSecrets, as: UTF8.self).contains("pa55-word"))
            let port = try await freeLoopbackPort()
            let server = try makeServer(pki, store, port: port) { $0.deviceVault = vault }
            let agent = try makeAgent(pki, port: port, spool: "\(dir)/spool.sqlite")
            try await running({ try await server.run() }) {
                try await running({ try await agent.run() }) {
                    let arrived = try await eventually(timeout: .seconds(20)) {
                        let status = try await DeviceReadings(store: store).latest(good)
                        return status.snapshot?.interfaces.first?.inBitsPerSecond != nil
                    }
                    #expect(arrived, "gnmi results with rates reached the store")
                    let status = try await DeviceReadings(store: store).latest(good)
                    #expect(status.state == "ok")
                    #expect(status.capabilities?.version == "0.10.0")
                    let eth0 = try #require(status.snapshot?.interfaces.first)
                    #expect(abs((eth0.inBitsPerSecond ?? 0) - 80_000_000) / 80_000_000 < 0.25)
                    #expect(eth0.speedBitsPerSecond == 1_000_000_000)
                    #expect(status.snapshot?.cpuPercent == 12.5)
                    #expect(target.lastUsername == "collector")

                    let refused = try await eventually(timeout: .seconds(10)) {
                        try await DeviceReadings(store: store).latest(bad).errorKind == "wrong_credentials"
                    }
                    #expect(refused)
                    let badStatus = try await DeviceReadings(store: store).latest(bad)
                    #expect(badStatus.state == "failed")
                    #expect(badStatus.reason.contains("refused the credentials for user \"collector\""))

                    // Removing a device stops its collection; its results stay.
                    try await store.deleteDevice(id: bad.id)
                    #expect(
                        try await eventually(timeout: .seconds(5)) {
                            !agent.runner.assignments.map(\.0).contains(try #require(bad.testID))
                        }
                    )
                    #expect(try await store.measurementCount(test: bad.testID) > 0)
                }
            }
            for file in ["test.sqlite", "test.sqlite-wal", "spool.sqlite", "spool.sqlite-wal"] {
                guard let bytes = FileManager.default.contents(atPath: "\(dir)/\(file)") else { continue }
                #expect(bytes.range(of: Data("pa55-word-in-clear?".utf8)) == nil, "clear-text password in \(file)")
            }
            #expect(FileManager.default.fileExists(atPath: "\(dir)/test.sqlite"))
        }
    }

    @Test("without the device key the server hands the device out with the reason, and the agent reports it")
    func deviceWithoutKey() async throws {
        try await withTemporaryDirectory { dir in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: dir)
            let vault = try DeviceVault(keyBytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
            let device = try await store.createDevice(
                DeviceRecord(
                    name: "r9",
                    address: "127.0.0.1",
                    port: 9339,
                    auth: .password,
                    username: "u",
                    sealedSecrets: try vault.seal(DeviceSecrets(password: "p"), for: "r9"),
                    reportInterval: .seconds(1),
                    agents: [AgentName.fixture("local")]
                )
            )
            let port = try await freeLoopbackPort()
            let server = try makeServer(pki, store, port: port)
            let agent = try makeAgent(pki, port: port, spool: "\(dir)/spool.sqlite")
            try await running({ try await server.run() }) {
                try await running({ try await agent.run() }) {
                    #expect(
                        try await eventually(timeout: .seconds(10)) {
                            try await DeviceReadings(store: store).latest(device).reason.contains("has no device key")
                        }
                    )
                    let status = try await DeviceReadings(store: store).latest(device)
                    #expect(
                        status.reason
                            == "the server has no device key to unseal the credentials of r9: start it with "
                            + "--device-key-file FILE or SWARM_DEVICE_KEY"
                    )
                }
            }
        }
    }
}
