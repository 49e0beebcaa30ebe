/// What a test asks agents to do: probes, a target, a schedule and options.
///
/// This is the domain form of `streamswarm.mesh.v1.TestSpec`; `SwarmWire` maps between the two.
/// Options a probe kind does not use are ignored by that probe.
public struct TestSpec: Sendable, Hashable, Codable {
    public var name: String
    public var probes: [ProbeKind]
    public var target: Target
    public var schedule: Schedule
    public var options: Options
    public var recurrence: Recurrence

    public init(
        name: String,
        probes: [ProbeKind],
        target: Target = Target(),
        schedule: Schedule = Schedule(),
        options: Options = Options(),
        recurrence: Recurrence = Recurrence()
    ) {
        self.name = name
        self.probes = probes
        self.target = target
        self.schedule = schedule
        self.options = options
        self.recurrence = recurrence
    }

    public struct Target: Sendable, Hashable, Codable {
        /// Host name or address; empty for `system`.
        public var host: String
        public var port: Int
        public var family: AddressFamily
        public var url: String
        /// Mesh tests: the peer agent whose responder is the target. The server fills `host` and
        /// `port` from the address that agent advertises when it hands out the assignment.
        public var agentName: String
        public init(
            host: String = "",
            port: Int = 0,
            family: AddressFamily = .any,
            url: String = "",
            agentName: String = ""
        ) {
            self.agentName = agentName
            self.host = host
            self.port = port
            self.family = family
            self.url = url
        }
    }

    public enum AddressFamily: String, Sendable, Hashable, Codable { case any, ipv4, ipv6 }

    public struct Schedule: Sendable, Hashable, Codable {
        /// Time between runs; zero runs once. Defaults to 60 s.
        public var interval: Duration
        /// Packets or attempts per run. Defaults to 1.
        public var count: Int
        /// Limit for one run. Defaults to 5 s.
        public var timeout: Duration
        public var start: Timestamp?
        public var end: Timestamp?
        /// Spread first runs over one interval so agents do not all fire together. Defaults to true.
        public var randomStartOffset: Bool
        public init(
            interval: Duration = .seconds(60),
            count: Int = 1,
            timeout: Duration = .seconds(5),
            start: Timestamp? = nil,
            end: Timestamp? = nil,
            randomStartOffset: Bool = true
        ) {
            self.interval = interval
            self.count = count
            self.timeout = timeout
            self.start = start
            self.end = end
            self.randomStartOffset = randomStartOffset
        }
    }

    public struct Options: Sendable, Hashable, Codable {
        public var packetSize: Int
        /// DSCP code point 0–63 set on sent packets.
        public var dscp: Int
        public var sourceAddress: String
        public var interface: String
        /// TCP probe: bytes to send after connecting, and a substring expected in the reply.
        public var tcpSend: String
        public var tcpExpect: String
        /// Options of one probe kind each (see TestSpec+ProbeOptions.swift).
        public var icmp = ICMPOptions()
        public var udp = UDPOptions()
        public var dns = DNSOptions()
        public var http = HTTPOptions()
        public var traceroute = TracerouteOptions()
        public var mtu = MTUOptions()
        public var bandwidth = BandwidthOptions()
        public var gnmi = GNMIOptions()
        public var system = SystemOptions()
        public init(
            packetSize: Int = 0,
            dscp: Int = 0,
            sourceAddress: String = "",
            interface: String = "",
            tcpSend: String = "",
            tcpExpect: String = ""
        ) {
            self.packetSize = packetSize
            self.dscp = dscp
            self.sourceAddress = sourceAddress
            self.interface = interface
            self.tcpSend = tcpSend
            self.tcpExpect = tcpExpect
        }
    }

    public struct Recurrence: Sendable, Hashable, Codable {
        public enum Mode: String, Sendable, Hashable, Codable { case none, `continue`, new }
        public var mode: Mode
        public var interval: Duration
        public init(mode: Mode = .none, interval: Duration = .zero) {
            self.mode = mode
            self.interval = interval
        }
    }

    /// Checks the spec before it is stored or run.
    ///
    /// - Throws: ``SpecError`` naming the field, the bad value and what is accepted.
    public func validate() throws(SpecError) {
        if probes.isEmpty { throw SpecError("a test needs at least one probe kind (e.g. --kind tcp)") }
        if name.count > 200 { throw SpecError("test name is \(name.count) characters; at most 200 are accepted") }
        if schedule.count < 1 || schedule.count > 100_000 {
            throw SpecError("count \(schedule.count) is out of range: use 1...100000")
        }
        if schedule.interval < .zero { throw SpecError("interval must not be negative") }
        if schedule.interval > .zero && schedule.interval < .milliseconds(100) {
            throw SpecError("interval \(schedule.interval) is below the 100 ms minimum")
        }
        if schedule.timeout <= .zero || schedule.timeout > .seconds(3600) {
            throw SpecError("timeout \(schedule.timeout) is out of range: use 1ms...3600s")
        }
        try validateRecurrence()
        if !(0...63).contains(options.dscp) { throw SpecError("dscp \(options.dscp) is out of range: use 0...63") }
        if !(0...65535).contains(target.port) { throw SpecError("port \(target.port) is out of range: use 1...65535") }
        for probe in probes {
            switch probe {
            case .tcp:
                if target.host.isEmpty || target.port == 0 {
                    throw SpecError("a tcp probe needs a target host and port (e.g. --target 192.0.2.10:443)")
                }
            case .icmp, .udp, .dns, .traceroute, .mtu, .bandwidth:
                if target.host.isEmpty && target.agentName.isEmpty {
                    throw SpecError("a \(probe) probe needs a target host (--target HOST)")
                }
            case .http:
                if target.url.isEmpty && target.host.isEmpty {
                    throw SpecError("an http probe needs a URL (--target https://host/path)")
                }
            case .gnmi:
                if options.gnmi.deviceID <= 0 {
                    throw SpecError("a gnmi test needs an inventory device (streamswarm devices add …)")
                }
            case .system:
                break
            }
        }
    }
}

/// A test spec was rejected; the message says which field and what is accepted.
extension TestSpec {
    fileprivate func validateRecurrence() throws(SpecError) {
        if let start = schedule.start, let end = schedule.end, end <= start {
            throw SpecError("the end time must be after the start time")
        }
        guard recurrence.mode != .none else { return }
        if recurrence.interval < .seconds(1) {
            throw SpecError("a recurring test needs a recurrence interval of at least 1 s")
        }
        if let end = schedule.end {
            guard let start = schedule.start else {
                throw SpecError(
                    "a recurring test with an end time needs a start time too (the first occurrence's window)"
                )
            }
            if end - start > recurrence.interval {
                throw SpecError(
                    "the occurrence window (\(end - start)) is longer than the recurrence interval "
                        + "(\(recurrence.interval)): occurrences would overlap"
                )
            }
        }
    }
}

public struct SpecError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "invalid test spec: \(message)" }
}

/// One assignment as the agent sees it: a test at a revision.
public struct TestAssignment: Sendable, Hashable {
    public var testID: TestID
    public var revision: Int
    public var spec: TestSpec
    public init(testID: TestID, revision: Int, spec: TestSpec) {
        self.testID = testID
        self.revision = revision
        self.spec = spec
    }
}

/// Stored specs are JSON of this type; options added by later versions may be missing from specs
/// an older version stored, so every option decodes with its default when absent.
extension TestSpec.Options {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            packetSize: try c.decodeIfPresent(Int.self, forKey: .packetSize) ?? 0,
            dscp: try c.decodeIfPresent(Int.self, forKey: .dscp) ?? 0,
            sourceAddress: try c.decodeIfPresent(String.self, forKey: .sourceAddress) ?? "",
            interface: try c.decodeIfPresent(String.self, forKey: .interface) ?? "",
            tcpSend: try c.decodeIfPresent(String.self, forKey: .tcpSend) ?? "",
            tcpExpect: try c.decodeIfPresent(String.self, forKey: .tcpExpect) ?? ""
        )
        icmp = try c.decodeIfPresent(TestSpec.ICMPOptions.self, forKey: .icmp) ?? icmp
        udp = try c.decodeIfPresent(TestSpec.UDPOptions.self, forKey: .udp) ?? udp
        dns = try c.decodeIfPresent(TestSpec.DNSOptions.self, forKey: .dns) ?? dns
        http = try c.decodeIfPresent(TestSpec.HTTPOptions.self, forKey: .http) ?? http
        traceroute = try c.decodeIfPresent(TestSpec.TracerouteOptions.self, forKey: .traceroute) ?? traceroute
        mtu = try c.decodeIfPresent(TestSpec.MTUOptions.self, forKey: .mtu) ?? mtu
        bandwidth = try c.decodeIfPresent(TestSpec.BandwidthOptions.self, forKey: .bandwidth) ?? bandwidth
        gnmi = try c.decodeIfPresent(GNMIOptions.self, forKey: .gnmi) ?? gnmi
    }
}
