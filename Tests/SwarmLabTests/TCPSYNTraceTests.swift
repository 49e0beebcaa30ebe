import Foundation
import SwarmTestSupport
import Testing

/// Traceroute's TCP SYN mode through the lab: the same three hops and path fingerprint as UDP mode
/// (one flow, Paris style), IPv4 and IPv6; without CAP_NET_RAW it says what to do.
@Suite("Traceroute tcp-syn mode", .serialized, .requiresNetLab)
struct TCPSYNTraceTests {
    @Test("tcp-syn finds R1, R2 and B like udp mode; as nobody it is not permitted", .timeLimit(.minutes(1)))
    func tcpSYN() async throws {
        try await NetLab.withLab(NetLabConfig(delayMs: 5)) { lab in
            try await lab.warmUpIPv6()
            for (target, hops) in [
                (lab.addresses.b, [lab.addresses.r1, lab.addresses.r2, lab.addresses.b]),
                (lab.addresses.b6, [lab.addresses.r1v6, lab.addresses.r2v6, lab.addresses.b6]),
            ] {
                let syn = try await lab.probe(
                    "traceroute",
                    target,
                    ["--mode", "tcp-syn", "--probes-per-hop", "2"],
                    named: "tcp-syn-\(target)"
                )
                let udp = try await lab.probe("traceroute", target, ["--probes-per-hop", "2"], named: "udp-\(target)")
                #expect(syn.isOK, "\(syn.verdict)")
                #expect(syn.traceroute?.addresses == hops)
                #expect(syn.traceroute?.reached == true)
                #expect(syn.traceroute?.pathFingerprint == udp.traceroute?.pathFingerprint)
            }
            let binary = try ProbeBinary.require()
            let output = try await lab.run(
                .a,
                [
                    "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "probe", "traceroute",
                    lab.addresses.b, "--mode", "tcp-syn", "--json",
                ],
                timeout: .seconds(20)
            )
            #expect(output.stdout.contains("MEASUREMENT_STATUS_NOT_PERMITTED"), "\(output.stdout)")
            #expect(output.stdout.contains("CAP_NET_RAW"))
        }
    }
}
