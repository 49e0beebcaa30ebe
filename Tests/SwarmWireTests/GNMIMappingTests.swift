import Foundation
import SwarmCore
import SwarmProto
import SwarmWire
import SwiftProtobuf
import Testing

@Suite("gNMI on the mesh wire")
struct GNMIMappingTests {
    @Test("a device assignment keeps every connection setting across the wire, credentials included")
    func assignmentRoundTrip() throws {
        var spec = TestSpec(name: "gnmi core1", probes: [.gnmi], schedule: .init(interval: .seconds(5)))
        spec.options.gnmi = GNMIOptions(
            deviceID: 42,
            connection: GNMIConnection(
                name: "core1",
                address: "2001:db8::1",
                port: 57400,
                auth: .certificateAndPassword,
                username: "netops",
                password: "p@ss",
                clientCertificatePEM: "CERT",
                clientKeyPEM: "KEY",
                caCertificatePEM: "CA",
                serverName: "core1.example",
                pinnedCertificatePEM: "",
                subscriptions: [
                    GNMISubscription(path: "/a[k=v]/b", sampleInterval: .milliseconds(1500)),
                    GNMISubscription(
                        path: "/c",
                        mode: .onChange,
                        sampleInterval: .zero,
                        heartbeatInterval: .seconds(60),
                        suppressRedundant: true
                    ),
                ],
                mode: .poll,
                encoding: .proto,
                pollInterval: .seconds(7)
            )
        )
        let assignment = TestAssignment(testID: TestID(3), revision: 2, spec: spec)
        let decoded = try MeshCodec.decode(MeshCodec.encode(.assignment(.init(assignment: assignment))))
        guard case .assignment(let message) = decoded else {
            Issue.record("decoded \(decoded)")
            return
        }
        #expect(message.assignment == assignment)
        var unavailable = spec
        unavailable.options.gnmi = GNMIOptions(deviceID: 42, unavailableReason: "no device key")
        let reason = try MeshCodec.decode(
            MeshCodec.encode(
                .assignment(.init(assignment: TestAssignment(testID: TestID(3), revision: 2, spec: unavailable)))
            )
        )
        if case .assignment(let m) = reason {
            #expect(m.assignment?.spec.options.gnmi.unavailableReason == "no device key")
        }
    }

    @Test("a gnmi observation survives encoding and decoding")
    func resultRoundTrip() throws {
        var snapshot = GNMISnapshot(deviceID: 7, deviceName: "core1", deviceAddress: "192.0.2.1")
        var eth = GNMISnapshot.Interface(name: "et1")
        eth.inOctets = 1 << 40
        eth.inBitsPerSecond = 1e9
        eth.inUtilisationPercent = 10
        eth.operStatus = "UP"
        eth.speedBitsPerSecond = 10_000_000_000
        eth.inFCSErrors = 3
        snapshot.interfaces = [eth]
        snapshot.cpuPercent = 55
        snapshot.memoryUsedBytes = 1 << 30
        snapshot.memoryTotalBytes = 4 << 30
        var queue = GNMISnapshot.Queue(interface: "et1", queue: "BE")
        queue.droppedPackets = 9
        snapshot.queues = [queue]
        snapshot.updates = 123
        snapshot.capabilities = .init(
            models: [.init(name: "m", organization: "o", version: "1")],
            encodings: ["proto"],
            version: "0.10.0"
        )
        snapshot.errorKind = ""
        let observation = ProbeObservation(
            testID: TestID(1),
            revision: 1,
            kind: .gnmi,
            startedAt: .now(),
            duration: .seconds(1),
            status: .ok,
            result: .gnmi(snapshot)
        )
        // What the agent encodes is what the server stores; reading the stored result back gives
        // the same snapshot, field for field.
        let encoded = try MeasurementEncoding.encode(observation, sequence: 1)
        let stored = try Streamswarm_Mesh_V1_Measurement(serializedBytes: encoded).gnmi.serializedData()
        #expect(try MeasurementEncoding.decodeGNMI(stored) == snapshot)
        let json = try MeasurementEncoding.observationJSON(observation)
        #expect(json.contains("\"updates\":\"123\""))
    }

    @Test("a spec stored before gNMI existed (no gnmi options key) still decodes")
    func oldStoredSpec() throws {
        var spec = TestSpec(name: "old", probes: [.icmp], target: .init(host: "192.0.2.1"))
        spec.options.dscp = 46
        var object = try #require(
            try JSONSerialization.jsonObject(with: try JSONEncoder().encode(spec)) as? [String: Any]
        )
        var options = try #require(object["options"] as? [String: Any])
        options["gnmi"] = nil
        options["bandwidth"] = nil
        object["options"] = options
        let decoded = try JSONDecoder().decode(TestSpec.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(decoded.options.dscp == 46)
        #expect(decoded.options.gnmi == GNMIOptions())
        #expect(decoded.options.bandwidth == TestSpec.BandwidthOptions())
    }
}
