import ArgumentParser
import Foundation
import SwarmCore
import SwarmProbes
import SwarmWire

/// `streamswarm probe KIND TARGET`: one run of a probe, here and now, through the same code the
/// agent runs; a readable summary or the measurement as proto3 JSON.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Run one probe once from this host and print what it measured.",
        discussion: """
            Examples:
              streamswarm probe icmp 192.0.2.1 --count 10 --packet-interval 200ms
              streamswarm probe traceroute example.net
              streamswarm probe udp 198.51.100.7:7447 --voice --key-file responder.key
              streamswarm probe system
            """
    )

    @Argument(help: "Probe kind: icmp, udp, tcp, dns, http, traceroute, mtu, bandwidth or system.")
    var kind: String
    @Argument(help: "Target: HOST, ADDRESS, HOST:PORT, [V6]:PORT or a URL (none for system).")
    var target: String = ""
    @OptionGroup(title: "Probe options") var probe: ProbeSpecOptions
    @Option(
        help: "udp, bandwidth: file holding the swarm's responder key (or set STREAMSWARM_RESPONDER_KEY to its hex)."
    )
    var keyFile: String?
    @Flag(help: "Print the measurement as proto3 JSON.") var json = false

    func run() async throws {
        let probeKind = try ProbeSpecOptions.kind(kind)
        let spec = try probe.spec(
            name: "probe",
            kinds: [probeKind],
            target: target,
            interval: .zero,
            randomStart: false
        )
        guard let instance = ProbeCatalog.make(probeKind) else {
            throw ValidationError("this build cannot run \(probeKind) probes yet")
        }
        var context = ProbeContext(testID: TestID(0), revision: 0, spec: spec)
        context.responderKey = try ResponderKeyOptions.load(file: keyFile)
        let observation = await instance.run(context)
        if json {
            print(try MeasurementEncoding.observationJSON(observation))
        } else {
            print(ProbeSummary.render(observation))
        }
        if observation.status != .ok { throw ExitCode(1) }
    }
}
