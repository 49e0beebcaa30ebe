import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SwarmCore
import SwarmPKI
import SwarmProto
import SwarmStore
import SwarmStoreSQLite
import SwarmWire
import SwiftProtobuf
import Testing

@testable import SwarmGateway

@Suite("devices API and path correlation")
struct DevicesAPITests {
    static let vault: DeviceVault = {
        guard let vault = try? DeviceVault(keyBytes: [UInt8](repeating: 7, count: 32)) else {
            preconditionFailure("a 32-byte key is valid")
        }
        return vault
    }()

    static func withVault<T>(_ body: (GatewayHarness) async throws -> T) async throws -> T {
        try await GatewayHarness.with(configure: { $0.deviceVault = vault }, body)
    }

    static func device(_ name: String = "r1") -> [String: Any] {
        [
            "name": name, "address": "192.0.2.1", "port": 57400, "auth": "password", "username": "netops",
            "password": "hunter2-secret", "agents": ["a"], "interfaceAddresses": ["10.0.0.2"], "reportIntervalMs": 5000,
            "subscriptions": [
                ["path": "/interfaces/interface/state/counters", "mode": "sample", "sampleIntervalMs": 1000]
            ],
        ]
    }

    @Test("admins add devices (credentials sealed, never returned); viewers list and read them; bad input is refused")
    func crud() async throws {
        try await Self.withVault { harness in
            try await harness.app.test(.router) { client in
                let admin = try await client.signIn("admin")
                let operatorUser = try await client.signIn("operator")
                let viewer = try await client.signIn("viewer")
                let created = try await client.send(.post, "/api/v1/devices", as: admin, json: Self.device())
                #expect(created.status == .created, "\(created.errorMessage)")
                let body = String(buffer: created.body)
                #expect(!body.contains("hunter2"), "the password never comes back")
                #expect(!body.contains("\"password\":"), "no password field")
                let json = try created.json()
                let id = try #require(json["id"] as? Int)
                #expect(json["hasCredentials"] as? Bool == true)
                #expect((json["status"] as? [String: Any])?["state"] as? String == "pending")
                #expect(json["testId"] is Int)
                let stored = try #require(try await harness.store.device(id: Int64(id)))
                #expect(try Self.vault.open(stored.sealedSecrets, for: stored.name).password == "hunter2-secret")
                // Bound to its device: the same blob copied onto another device does not open.
                let error = #expect(throws: PKIError.self) { try Self.vault.open(stored.sealedSecrets, for: "other") }
                #expect(error?.message.contains("sealed for another device") == true)

                let list = try await client.send(.get, "/api/v1/devices", as: viewer)
                #expect(list.status == .ok)
                #expect((try list.json()["devices"] as? [[String: Any]])?.first?["name"] as? String == "r1")
                let detail = try await client.send(.get, "/api/v1/devices/\(id)", as: viewer)
                #expect((try detail.json()["subscriptions"] as? [[String: Any]])?.count == 1)

                #expect(
                    try await client.send(.post, "/api/v1/devices", as: operatorUser, json: Self.device("r2")).status
                        == .forbidden
                )
                let taken = try await client.send(.post, "/api/v1/devices", as: admin, json: Self.device())
                #expect(taken.status == .conflict)
                #expect(taken.errorMessage == "a device named r1 exists already")
                var noPort = Self.device("r3")
                noPort["port"] = nil
                let missing = try await client.send(.post, "/api/v1/devices", as: admin, json: noPort)
                #expect(missing.status == .badRequest && missing.errorMessage == "missing field 'port'")
                var typo = Self.device("r4")
                typo["passwrd"] = "x"
                #expect(
                    try await client.send(.post, "/api/v1/devices", as: admin, json: typo).errorMessage.hasPrefix(
                        "unknown field 'passwrd'"
                    )
                )
                var ghost = Self.device("r5")
                ghost["agents"] = ["nobody"]
                #expect(try await client.send(.post, "/api/v1/devices", as: admin, json: ghost).status == .badRequest)
                var badPath = Self.device("r6")
                badPath["subscriptions"] = [["path": "interfaces", "mode": "sample"]]
                #expect(try await client.send(.post, "/api/v1/devices", as: admin, json: badPath).status == .badRequest)

                let gnmiTest: [String: Any] = [
                    "spec": ["name": "x", "probes": [["kind": "PROBE_KIND_GNMI"]]], "agents": ["a"],
                ]
                let refused = try await client.send(.post, "/api/v1/tests", as: admin, json: gnmiTest)
                #expect(refused.errorMessage == "gnmi collection is set up per device: POST /api/v1/devices")

                #expect(try await client.send(.delete, "/api/v1/devices/\(id)", as: viewer).status == .forbidden)
                #expect(try await client.send(.delete, "/api/v1/devices/\(id)", as: admin).status == .noContent)
                #expect(try await client.send(.get, "/api/v1/devices/\(id)", as: viewer).status == .notFound)
                #expect(try await harness.store.devices().isEmpty)
            }
        }
    }

    @Test("operators cannot stop, restart, rewrite or delete a device's collection test; admins can")
    func deviceTestsAreAdminOnly() async throws {
        try await Self.withVault { harness in
            try await harness.app.test(.router) { client in
                let admin = try await client.signIn("admin")
                let operatorUser = try await client.signIn("operator")
                let created = try await client.send(.post, "/api/v1/devices", as: admin, json: Self.device())
                let testID = try #require(try created.json()["testId"] as? Int)
                let path = "/api/v1/tests/\(testID)"
                let plain: [String: Any] = [
                    "spec": ["name": "hijack", "probes": ["PROBE_KIND_SYSTEM"], "schedule": ["intervalMs": 60000]],
                    "agents": ["a"],
                ]
                for (method, uri, json) in [
                    (HTTPRequest.Method.post, "\(path)/stop", nil), (.post, "\(path)/restart", nil),
                    (.put, path, plain as Any?), (.delete, path, nil),
                    (.post, "/api/v1/tests/bulk-delete", ["ids": [testID]]),
                ] {
                    let r = try await client.send(method, uri, as: operatorUser, json: json)
                    #expect(r.status == .forbidden, "\(method) \(uri): \(r.status)")
                    #expect(r.errorMessage.contains("only an admin changes it"))
                }
                let record = try #require(try await harness.store.test(TestID(Int64(testID))))
                #expect(record.state == .active && record.spec.probes.contains(.gnmi))
                #expect(try await client.send(.post, "\(path)/stop", as: admin).status == .ok)
            }
        }
    }

    @Test("without a device key the gateway refuses credentials with the fix")
    func noKey() async throws {
        try await GatewayHarness.with { harness in
            try await harness.app.test(.router) { client in
                let admin = try await client.signIn("admin")
                let response = try await client.send(.post, "/api/v1/devices", as: admin, json: Self.device())
                #expect(response.status == .badRequest)
                #expect(
                    response.errorMessage
                        == "this gateway has no device key to seal credentials with: start the server with "
                        + "--device-key-file FILE or SWARM_DEVICE_KEY"
                )
            }
        }
    }

    @Test("a traceroute hop through a device's interface address shows that device's figures for the window")
    func pathCorrelation() async throws {
        try await Self.withVault { harness in
            let store = harness.store
            let agent = try #require(AgentName("a"))
            let device = try await store.createDevice(
                DeviceRecord(
                    name: "core1",
                    address: "192.0.2.9",
                    port: 9339,
                    interfaceAddresses: ["10.0.0.2"],
                    auth: .certificate,
                    clientCertificatePEM: "-----BEGIN CERTIFICATE-----",
                    agents: [agent]
                )
            )
            let trace = try await store.createTest(
                TestSpec(name: "path", probes: [.traceroute], target: .init(host: "10.0.0.3")),
                agents: [agent]
            )
            let start = Timestamp.now() - .seconds(60)
            var records: [MeasurementRecord] = []
            for i in 0..<3 {
                var t = Streamswarm_Mesh_V1_TracerouteResult()
                t.hops = ["10.0.0.1", "10.0.0.2", "10.0.0.3"].enumerated().map { n, address in
                    var hop = Streamswarm_Mesh_V1_TracerouteHop()
                    hop.ttl = UInt32(n + 1)
                    hop.address = address
                    return hop
                }
                records.append(
                    Self.record(
                        trace.id,
                        agent,
                        UInt64(i + 1),
                        .traceroute,
                        start + .seconds(i * 10),
                        try t.serializedData()
                    )
                )
            }
            let deviceTest = try #require(device.testID)
            for i in 0..<4 {
                var g = Streamswarm_Mesh_V1_GnmiResult()
                g.cpuPercent = Double(10 + i * 10)
                var eth = Streamswarm_Mesh_V1_GnmiInterface()
                eth.name = "eth1"
                eth.operStatus = "UP"
                eth.inErrors = i == 2 ? 1 : UInt64(5 + i * 3)  // a reset at sample 2
                eth.inUtilisationPercent = Double(i) * 20
                g.interfaces = [eth]
                records.append(
                    Self.record(
                        deviceTest,
                        agent,
                        UInt64(100 + i),
                        .gnmi,
                        start + .seconds(i * 10),
                        try g.serializedData()
                    )
                )
            }
            _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: 1, measurements: records)])
            try await harness.app.test(.router) { client in
                let viewer = try await client.signIn("viewer")
                let response = try await client.send(.get, "/api/v1/results/path?test=\(trace.id)", as: viewer)
                #expect(response.status == .ok, "\(response.errorMessage)")
                let json = try response.json()
                #expect(json["runs"] as? Int == 3)
                let hops = try #require(json["hops"] as? [[String: Any]])
                #expect(hops.map { $0["address"] as? String } == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
                #expect(hops[0]["device"] == nil)
                #expect((hops[1]["device"] as? [String: Any])?["name"] as? String == "core1")
                let figures = try #require(hops[1]["figures"] as? [String: Any])
                #expect(figures["samples"] as? Int == 4)
                #expect(figures["cpuAveragePercent"] as? Double == 25)
                #expect(figures["cpuMaxPercent"] as? Double == 40)
                let eth1 = try #require((figures["interfaces"] as? [[String: Any]])?.first)
                #expect(eth1["inUtilisationMaxPercent"] as? Double == 60)
                // 5 → 8 (+3), reset to 1 (skipped), 1 → 14 (+13).
                #expect(eth1["inErrors"] as? Int == 16)
                let bad = try await client.send(.get, "/api/v1/results/path", as: viewer)
                #expect(bad.status == .badRequest)
            }
        }
    }

    static func record(
        _ test: TestID,
        _ agent: AgentName,
        _ sequence: UInt64,
        _ kind: ProbeKind,
        _ at: Timestamp,
        _ payload: Data
    ) -> MeasurementRecord {
        MeasurementRecord(
            testID: test,
            revision: 1,
            agent: agent,
            sequence: sequence,
            kind: kind,
            startedAt: at,
            duration: .milliseconds(5),
            status: .ok,
            reason: "",
            value: nil,
            figures: MeasurementFigures(),
            payload: payload
        )
    }
}
