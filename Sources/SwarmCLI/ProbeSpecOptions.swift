import ArgumentParser
import Foundation
import SwarmCore

/// The options that describe what a probe does, shared by `streamswarm probe` and `tests create`.
struct ProbeSpecOptions: ParsableArguments {
    @Option(help: "Packets or attempts per run.") var count: Int = 1
    @Option(help: "Limit for one run (for packet probes: how long each request waits for its reply).")
    var timeout: String = "5s"
    @Option(help: "DSCP 0-63 on sent packets (IP_TOS / IPV6_TCLASS).") var dscp: Int = 0
    @Option(help: "Payload size in bytes (icmp: like ping -s; default 56).") var size: Int = 0
    @Flag(name: .customShort("4"), help: "IPv4 only.") var ipv4 = false
    @Flag(name: .customShort("6"), help: "IPv6 only.") var ipv6 = false
    @Option(help: "Source address to send from.") var source: String = ""
    @Option(help: "Interface to send through (SO_BINDTODEVICE).") var interface: String = ""

    @Option(help: "icmp: gap between echo requests within a run.") var packetInterval: String = "1s"
    @Option(help: "udp: packets per second.") var pps: Int = 50
    @Option(help: "udp, bandwidth: how long to send.") var duration: String?
    @Flag(help: "udp: voice view (20 ms pacing, G.711 payloads, E-model R-factor and MOS).") var voice = false
    @Option(help: "udp: ECN codepoint 0-3 to send.") var ecn: Int = 0
    @Option(help: "dns: server (ADDRESS or ADDRESS:PORT; default: first nameserver in /etc/resolv.conf).")
    var server: String = ""
    @Option(help: "dns: record type (A, AAAA, MX, TXT, NS, CNAME, SOA, PTR, SRV, CAA).") var type: String = "A"
    @Flag(help: "dns: query over TCP.") var tcp = false
    @Option(help: "http: GET or HEAD.") var method: String = "GET"
    @Flag(help: "http: follow redirects.") var follow = false
    @Option(help: "http: text the body must contain; tcp: text the reply must contain.") var expect: String = ""
    @Option(help: "tcp: text to send after connecting.") var send: String = ""
    @Option(name: .customLong("header"), help: "http: extra request header 'Name: value' (repeatable).")
    var headers: [String] = []
    @Flag(help: "http: accept any server certificate (still reported).") var insecure = false
    @Option(help: "traceroute: udp (unprivileged), icmp or tcp-syn (root).") var mode: String = "udp"
    @Option(help: "traceroute: highest TTL.") var maxHops: Int = 30
    @Option(help: "traceroute: probes per hop.") var probesPerHop: Int = 3
    @Flag(help: "traceroute: look up hop names.") var resolve = false
    @Option(help: "mtu: smallest size to consider.") var minMtu: Int = 0
    @Option(help: "mtu: largest size to consider.") var maxMtu: Int = 0
    @Option(help: "bandwidth: download, upload or both.") var direction: String = "download"
    @Option(help: "bandwidth: parallel TCP streams.") var streams: Int = 1
    @Flag(help: "system: busy % and frequency of every core, beside the total.") var perCore = false
    @Flag(help: "system: the five processes using the most CPU and the most memory.") var processes = false

    /// A spec for `kinds` against `target` (HOST, ADDRESS, HOST:PORT, [V6]:PORT or a URL).
    func spec(
        name: String,
        kinds: [ProbeKind],
        target: String,
        interval: Duration,
        randomStart: Bool,
        meshPeer: String = ""
    ) throws -> TestSpec {
        var options = TestSpec.Options(
            packetSize: size,
            dscp: dscp,
            sourceAddress: source,
            interface: interface,
            tcpSend: send,
            tcpExpect: expect
        )
        options.icmp.packetInterval = try parseDuration(packetInterval, option: "--packet-interval")
        options.udp = .init(packetsPerSecond: pps, voice: voice, ecn: ecn)
        options.bandwidth.streams = streams
        if let duration {
            let parsed = try parseDuration(duration, option: "--duration")
            options.udp.duration = parsed
            options.bandwidth.duration = parsed
        }
        options.dns = .init(server: server, recordType: type.uppercased(), tcp: tcp)
        var headerMap: [String: String] = [:]
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw ValidationError("--header \(header) is not 'Name: value'")
            }
            headerMap[String(header[..<colon])] = header[header.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        options.http = .init(
            method: method.uppercased(),
            followRedirects: follow,
            expectSubstring: expect,
            headers: headerMap,
            insecureSkipVerify: insecure
        )
        guard let traceMode = TestSpec.TracerouteOptions.Mode(rawValue: mode) else {
            throw ValidationError("--mode \(mode) is not a traceroute mode; use udp, icmp or tcp-syn")
        }
        options.traceroute = .init(mode: traceMode, maxHops: maxHops, probesPerHop: probesPerHop, resolveNames: resolve)
        options.mtu = .init(minBytes: minMtu, maxBytes: maxMtu)
        guard let bandwidthDirection = TestSpec.BandwidthOptions.Direction(rawValue: direction) else {
            throw ValidationError("--direction \(direction) is not download, upload or both")
        }
        options.bandwidth.direction = bandwidthDirection
        options.system = .init(perCore: perCore, perProcessSummary: processes)
        if ipv4 && ipv6 { throw ValidationError("-4 and -6 exclude each other") }
        var targetSpec = try Self.target(target)
        targetSpec.family = ipv4 ? .ipv4 : (ipv6 ? .ipv6 : .any)
        targetSpec.agentName = meshPeer
        let spec = TestSpec(
            name: name,
            probes: kinds,
            target: targetSpec,
            schedule: .init(
                interval: interval,
                count: count,
                timeout: try parseDuration(timeout, option: "--timeout"),
                randomStartOffset: randomStart
            ),
            options: options
        )
        do {
            try spec.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return spec
    }

    /// Parses a target; a bare IPv6 address is a host, not HOST:PORT.
    static func target(_ text: String) throws -> TestSpec.Target {
        var target = TestSpec.Target()
        if text.contains("://") {
            target.url = text
            if let url = URL(string: text), let host = url.host {
                target.host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                target.port = url.port ?? 0
            }
        } else if text.isEmpty || isIPv6Literal(text) || !text.contains(":") {
            target.host = text
        } else {
            (target.host, target.port) = try parseHostPort(text, option: "target")
        }
        return target
    }

    static func isIPv6Literal(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    static func kind(_ text: String) throws -> ProbeKind {
        guard let kind = ProbeKind(rawValue: text) else {
            throw ValidationError(
                "\(text) is not a probe kind; use one of \(ProbeKind.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return kind
    }
}
