import Foundation
import SwarmAnalytics
import SwarmCore
import SwarmInsights
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import SwarmWire
import Testing

/// The analyzer feeds the gNMI figures of inventory devices on the agent's traceroute path into
/// the diagnosis: a router whose uplink fills up ranks first when the latency through it grows.
@Suite struct DeviceDiagnosisTests {
    static let now = Timestamp(unixNanos: 1_796_000_000 * 1_000_000_000)

    /// A result as the mesh stores it (encoded by the agent, carried in a batch, decoded).
    static func payload(_ observation: ProbeObservation) throws -> Data {
        let encoded = try MeasurementEncoding.encode(observation, sequence: 1)
        let frame = try MeshCodec.encodeResultBatch(batchID: 1, encodedMeasurements: [encoded], createdAt: now)
        guard case .resultBatch(let batch) = try MeshCodec.decode(frame), let stored = batch.measurements.first else {
            throw SpecError("not a result batch")
        }
        return stored.payload
    }

    static func row(
        _ test: TestID,
        _ agent: AgentName,
        _ step: Int,
        at: Timestamp,
        kind: ProbeKind,
        value: Double?,
        result: ProbeResult?
    ) throws
        -> MeasurementRecord
    {
        let observation = ProbeObservation(
            testID: test,
            revision: 1,
            kind: kind,
            startedAt: at,
            duration: .milliseconds(20),
            status: .ok,
            reason: "",
            result: result
        )
        return MeasurementRecord(
            testID: test,
            revision: 1,
            agent: agent,
            sequence: UInt64(step),
            kind: kind,
            startedAt: at,
            duration: .milliseconds(20),
            status: .ok,
            value: value,
            payload: result == nil ? Data() : try payload(observation)
        )
    }

    @Test("a device on the path whose utilisation rose to 95% ranks first, with its figures as evidence")
    func deviceOnThePath() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let agent = try #require(AgentName("edge"))
            try await store.recordSessionStart(
                SessionStart(agent: agent, sessionID: "s", agentVersion: "test", host: HostFacts(), at: Self.now)
            )
            let target = "192.0.2.50"
            let ping = try await store.createTest(
                TestSpec(name: "ping", probes: [.icmp], target: .init(host: target)),
                agents: [agent]
            )
            let trace = try await store.createTest(
                TestSpec(name: "path", probes: [.traceroute], target: .init(host: target)),
                agents: [agent]
            )
            let device = try await store.createDevice(
                DeviceRecord(
                    name: "core1",
                    address: "198.51.100.1",
                    port: 9339,
                    interfaceAddresses: ["10.9.0.9"],
                    auth: .password,
                    username: "u",
                    agents: [agent]
                )
            )
            let gnmiTest = try #require(device.testID)
            var pings: [MeasurementRecord] = []
            var traces: [MeasurementRecord] = []
            var counters: [MeasurementRecord] = []
            for step in 1...180 {
                let at = Self.now - .seconds(60 * Int64(181 - step))
                let busy = at >= Self.now - .seconds(1800)
                pings.append(
                    try Self.row(ping.id, agent, step, at: at, kind: .icmp, value: (busy ? 60 : 20) * 1000, result: nil)
                )
                var route = TracerouteProbeResult()
                route.hops = ["10.0.0.1", "10.9.0.9", target].enumerated().map { index, address in
                    var hop = TracerouteHop(ttl: index + 1)
                    hop.address = address
                    return hop
                }
                traces.append(
                    try Self.row(trace.id, agent, step, at: at, kind: .traceroute, value: 3, result: .traceroute(route))
                )
                var snapshot = GNMISnapshot(deviceID: device.id, deviceAddress: device.address)
                var uplink = GNMISnapshot.Interface(name: "et-0/0/1")
                uplink.operStatus = "UP"
                uplink.outUtilisationPercent = busy ? 95 : 20
                snapshot.interfaces = [uplink]
                snapshot.cpuPercent = 15
                counters.append(
                    try Self.row(gnmiTest, agent, step, at: at, kind: .gnmi, value: nil, result: .gnmi(snapshot))
                )
            }
            _ = try await store.commitBatches([
                IncomingBatch(agent: agent, batchID: 1, measurements: pings),
                IncomingBatch(agent: agent, batchID: 2, measurements: traces),
                IncomingBatch(agent: agent, batchID: 3, measurements: counters),
            ])
            let analysis = try await TestAnalyzer.analyze(ping, store: store, now: Self.now)
            let causes = try #require(analysis.agents.first).diagnosis
            #expect(causes.first?.kind == .device, "\(causes)")
            #expect(causes.first?.title == "core1 on the path: utilisation percent rose", "\(causes)")
            #expect(causes.first?.evidence == ["core1 utilisation_percent 20 → 95 (gNMI)"], "\(causes)")
            #expect(!causes.contains { $0.kind == .pathChange })
        }
    }
}
