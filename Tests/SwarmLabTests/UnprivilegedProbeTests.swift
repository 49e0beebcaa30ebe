import Foundation
import SwarmTestSupport
import Testing

/// Unprivileged by default: as user `nobody` inside a lab namespace, icmp uses the ICMP datagram
/// socket where `ping_group_range` allows it, traceroute's UDP mode needs no privilege at all, and
/// where neither a datagram socket nor a raw one is allowed the run says exactly what to change.
@Suite("Probes without privileges", .serialized, .requiresNetLab)
struct UnprivilegedProbeTests {
    /// Runs the probe as uid/gid 65534 with no supplementary groups and no capabilities.
    func probeAsNobody(_ lab: NetLab, _ arguments: [String]) async throws -> ProbeMeasurement {
        let binary = try ProbeBinary.require()
        let command = [
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", binary, "probe",
        ]
        let output = try await lab.run(.a, command + arguments + ["--json"], timeout: .seconds(20))
        let json = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard json.hasPrefix("{") else {
            throw ProbeOutputError(
                command: arguments.joined(separator: " "),
                output: output,
                problem: "no JSON on standard output"
            )
        }
        return try JSONDecoder().decode(ProbeMeasurement.self, from: Data(json.utf8))
    }

    @Test("as nobody: icmp on the datagram socket where ping_group_range allows it", .timeLimit(.minutes(1)))
    func datagramSocket() async throws {
        try await NetLab.withLab(NetLabConfig(delayMs: 5)) { lab in
            let icmp = try await probeAsNobody(
                lab,
                ["icmp", lab.addresses.b, "--count", "3", "--packet-interval", "50ms"]
            )
            #expect(icmp.isOK, "\(icmp.verdict)")
            #expect(icmp.icmp?.socketMode == "datagram")
            #expect(icmp.icmp?.received == 3)
            let trace = try await probeAsNobody(lab, ["traceroute", lab.addresses.b, "--probes-per-hop", "1"])
            #expect(trace.isOK, "\(trace.verdict)")
            #expect(trace.traceroute?.hops?.count == 3)
        }
    }

    @Test("as nobody without ping_group_range: icmp names the fix; udp traceroute still works", .timeLimit(.minutes(1)))
    func notPermitted() async throws {
        try await NetLab.withLab(NetLabConfig(delayMs: 5, pingGroup: false)) { lab in
            let icmp = try await probeAsNobody(lab, ["icmp", lab.addresses.b])
            #expect(icmp.status == "MEASUREMENT_STATUS_NOT_PERMITTED")
            #expect(
                icmp.reason
                    == "icmp: not permitted — add the agent's group to net.ipv4.ping_group_range or run with CAP_NET_RAW"
            )
            let trace = try await probeAsNobody(lab, ["traceroute", lab.addresses.b, "--probes-per-hop", "1"])
            #expect(trace.isOK, "\(trace.verdict)")
            let mtu = try await probeAsNobody(lab, ["mtu", lab.addresses.b])
            #expect(mtu.isOK, "\(mtu.verdict)")
        }
    }
}
