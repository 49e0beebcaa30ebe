import Foundation
import Logging
import SwarmAnalytics
import SwarmCore
import SwarmInsights
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import SwarmWire
import Testing

/// Alerting end to end through the network lab: `streamswarm server` runs in namespace A with
/// agent edge-a beside it and agent edge-r2 in R2 (across R1); both measure B with icmp every 2 s
/// and traceroute every 2 s; a webhook receiver and an SMTP sink listen inside A. Four faults are
/// injected one after another and removed again: added delay (R1's delay line) and loss
/// (nftables in R1), which only edge-a's path crosses; a route change (R1 sends B's traffic
/// through a third router R3 this test adds; that path is slower); and a saturated link (tbf at
/// 1 Mbit/s on R2's link to B, which both paths cross, with a UDP flood from A). Each is detected
/// within three probe intervals, edge-a's diagnosis ranks the injected cause first (only edge-a,
/// only edge-a, the path, shared), each alert raises once and clears once, and the receivers get
/// exactly one raise and one clear per alert.
@Suite("Alerting through the network lab", .serialized, .requiresNetLab)
struct AlertingLabTests {
    static let interval = 2.0
    static let secret = "lab-webhook-secret-0123456789"
    static let edgeA = "edge-a"
    static let edgeR2 = "edge-r2"

    @Test(
        "delay, loss, a route change and a saturated link: detected, diagnosed, raised and cleared once each",
        .timeLimit(.minutes(6))
    )
    func faults() async throws {
        let binary = try ProductBinary.require()
        try await withTemporaryDirectory { dir in
            try await NetLab.withLab(NetLabConfig(delayMs: 20)) { lab in
                // The delay line stays built but idle until the delay fault routes through it.
                try await Self.delayLine(lab, on: false)
                let (hookSocket, hookPort) = try lab.listeningSocket(in: .a)
                let (mailSocket, mailPort) = try lab.listeningSocket(in: .a)
                try await WebhookReceiver.with(listeningOn: hookSocket) { hook in
                    try await SMTPSink.with(listeningOn: mailSocket) { mail in
                        let r3 = "\(lab.name)-r3"
                        do {
                            try Self.addThirdRouter(lab, name: r3, dir: dir)
                            try await run(
                                lab,
                                binary: binary,
                                dir: dir,
                                hook: hook,
                                hookPort: hookPort,
                                mail: mail,
                                mailPort: mailPort
                            )
                        } catch {
                            _ = try? Self.host(["ip", "netns", "del", r3], dir: dir)
                            throw error
                        }
                        try Self.host(["ip", "netns", "del", r3], dir: dir)
                    }
                }
            }
        }
    }

    private func run(
        _ lab: NetLab,
        binary: String,
        dir: String,
        hook: WebhookReceiver,
        hookPort: Int,
        mail: SMTPSink,
        mailPort: Int
    ) async throws {
        let swarm = try await Self.startSwarm(lab, binary: binary, dir: dir)
        defer { Task { for process in swarm.processes { await process.terminate() } } }
        let store = swarm.store
        let db = ["--db", swarm.db]
        let b = lab.addresses.b
        for (name, kind, extra) in [
            ("ping b", "icmp", ["--count", "5", "--packet-interval", "100ms", "--timeout", "1s"]),
            ("path to b", "traceroute", ["--max-hops", "6", "--probes-per-hop", "1"]),
        ] {
            let created = try await lab.run(
                .a,
                [
                    binary, "tests", "create", "--name", name, "--kind", kind, "--target", b,
                    "--agent", Self.edgeA, "--agent", Self.edgeR2, "--interval", "2s",
                ]
                    + extra + db,
                timeout: .seconds(20)
            )
            try #require(created.succeeded, "tests create \(name): \(created.stdout) \(created.stderr)")
        }
        let ping = try #require(try await store.tests().first { $0.spec.name == "ping b" })
        _ = try await store.createAlertChannel(
            AlertChannelSpec(
                name: "hook",
                kind: .webhook,
                url: "http://127.0.0.1:\(hookPort)/hook",
                secret: Self.secret
            )
        )
        _ = try await store.createAlertChannel(
            AlertChannelSpec(
                name: "mail",
                kind: .email,
                url: "smtp://127.0.0.1:\(mailPort)",
                sender: "swarm@lab.example",
                recipients: ["noc@lab.example"]
            )
        )
        for (name, metric, raise, clear) in [
            ("lab latency", AlertMetric.latency, 10.0, 5.0), ("lab loss", .loss, 15, 2),
        ] {
            _ = try await store.createAlertRule(
                AlertRuleSpec(
                    name: name,
                    metric: metric,
                    condition: AlertCondition(comparison: .above, raise: raise, clear: clear, n: 2, m: 3),
                    test: ping.id,
                    severity: .critical,
                    channels: ["hook", "mail"]
                )
            )
        }
        // A clean baseline: a minute of runs and traceroutes before any fault.
        #expect(try await eventually(timeout: .seconds(60)) { try await store.measurementCount(test: ping.id) >= 50 })
        let early = try await store.alerts(AlertQuery())
        #expect(early.isEmpty, "alerts before any fault: \(early.map(\.message))")

        let trace = try #require(try await store.tests().first { $0.spec.name == "path to b" })
        /// The traceroutes of the last 30 s as hop lists, for failure messages.
        func paths() async throws -> [String] {
            let now = Timestamp.now()
            return try await store.measurements(
                test: trace.id,
                agent: AgentName(Self.edgeA),
                range: TimeRange(from: now - .seconds(30), to: now + .seconds(5)),
                limit: 100
            ).map { row in
                guard
                    case .traceroute(let result)? = try? MeasurementEncoding.decodeResult(
                        kind: row.kind,
                        payload: row.payload
                    )
                else { return "\(row.startedAt) \(row.status.rawValue)" }
                return "\(row.startedAt) "
                    + result.hops.map { $0.address.isEmpty ? "*" : $0.address }.joined(separator: ">")
            }
        }
        var expectedAlerts = 0
        func fault(
            _ name: String,
            raises expected: Set<String>,
            cause: Diagnosis.Kind,
            inject: () async throws -> Void,
            remove: () async throws -> Void
        ) async throws {
            let before = Set(try await store.alerts(AlertQuery()).map(\.id))
            let injected = Timestamp.now()
            try await inject()
            let raised = try await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
                let new = try await store.alerts(AlertQuery()).filter { !before.contains($0.id) }
                return expected.isSubset(of: Set(new.map(Self.raise)))
            }
            let new = try await store.alerts(AlertQuery()).filter { !before.contains($0.id) }
            #expect(raised, "\(name): expected \(expected) to raise; got \(new.map(\.message))")
            #expect(Set(new.map(Self.raise)) == expected, "\(name): \(new.map(\.message))")
            for alert in new {
                // Detected within three probe intervals of the injection (raisedAt is the run's start).
                let delay = (alert.raisedAt - injected).seconds
                #expect(delay <= 3 * Self.interval, "\(name): \(alert.ruleName) raised \(delay) s after the fault")
                print("alerting lab: \(name): '\(alert.ruleName)' raised \(delay) s after the fault: \(alert.message)")
            }
            // The diagnose view over the last 12 s (the fault's runs against the minutes before),
            // once the runs around the raise are stored.
            try await Task.sleep(for: .seconds(3))
            var options = TestAnalyzer.Options()
            options.window = .seconds(12)
            options.history = .seconds(3600)
            options.forecastHours = 0
            let analysis = try await TestAnalyzer.analyze(ping, store: store, now: .now(), options: options)
            let causes = analysis.agents.first { $0.agent == Self.edgeA }?.diagnosis ?? []
            print("alerting lab: \(name): likely causes \(causes.map { "\($0.kind.rawValue) \($0.confidence)" })")
            let seen = try await paths()
            #expect(causes.first?.kind == cause, "\(name): \(causes); paths: \(seen)")
            try await remove()
            let cleared = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
                try await store.alerts(AlertQuery(openOnly: true)).isEmpty
            }
            let open = try await store.alerts(AlertQuery(openOnly: true))
            #expect(cleared, "\(name): still open: \(open.map(\.message))")
            expectedAlerts += expected.count
            // Let the path settle back before the next fault (a fresh "before" for the diagnosis).
            try await Task.sleep(for: .seconds(12))
        }

        try await fault("added delay", raises: ["lab latency on edge-a"], cause: .localToAgent) {
            try await Self.delayLine(lab, on: true)
        } remove: {
            try await Self.delayLine(lab, on: false)
        }
        try await fault("loss", raises: ["lab loss on edge-a"], cause: .localToAgent) {
            try await Self.nft(lab, ["add", "table", "inet", "faults"])
            try await Self.nft(
                lab,
                ["add chain inet faults impair { type filter hook forward priority 0 ; policy accept ; }"]
            )
            try await Self.nft(
                lab,
                [
                    "add rule inet faults impair iifname \"r1a\" ip daddr \(lab.addresses.b) numgen random mod 100 < 50 drop"
                ]
            )
        } remove: {
            try await Self.nft(lab, ["delete", "table", "inet", "faults"])
        }
        try await fault("route change", raises: ["lab latency on edge-a"], cause: .pathChange) {
            try await Self.route(lab, viaThirdRouter: true)
        } remove: {
            try await Self.route(lab, viaThirdRouter: false)
        }
        let flood = try lab.spawn(.b, ["iperf3", "-s", "-1"])
        defer { Task { await flood.terminate() } }
        try await Task.sleep(for: .milliseconds(500))
        var client: BackgroundProcess?
        try await fault("saturated link", raises: ["lab latency on edge-a", "lab latency on edge-r2"], cause: .shared) {
            try await Self.tc(
                lab,
                ["qdisc", "replace", "dev", "r2b", "root", "tbf", "rate", "1mbit", "burst", "32kb", "limit", "64kb"]
            )
            client = try lab.spawn(.a, ["iperf3", "-c", lab.addresses.b, "-u", "-b", "4M", "-t", "60", "-l", "1200"])
        } remove: {
            await client?.terminate()
            try await Self.tc(lab, ["qdisc", "del", "dev", "r2b", "root"])
        }

        // One raise and one clear per alert on each channel, nothing more.
        let alerts = try await store.alerts(AlertQuery())
        #expect(alerts.count == expectedAlerts && alerts.allSatisfy { !$0.isOpen })
        #expect(
            await eventually(timeout: .seconds(20)) {
                hook.deliveries.count == 2 * alerts.count && mail.messages.count == 2 * alerts.count
            }
        )
        try await Task.sleep(for: .seconds(2))
        #expect(
            hook.deliveries.count == 2 * alerts.count,
            "webhook: \(hook.deliveries.count) for \(alerts.count) alerts"
        )
        #expect(mail.messages.count == 2 * alerts.count, "mail: \(mail.messages.count) for \(alerts.count) alerts")
        for alert in alerts {
            let events = hook.deliveries.compactMap { delivery -> String? in
                guard let json = try? JSONSerialization.jsonObject(with: delivery.body) as? [String: Any],
                    (json["alert"] as? [String: Any])?["id"] as? Int == Int(alert.id)
                else { return nil }
                return json["event"] as? String
            }
            #expect(events == ["raised", "cleared"], "alert \(alert.id) \(alert.ruleName): \(events)")
        }
        let subjects = mail.messages.compactMap { $0.header("Subject") }
        #expect(subjects.filter { $0.contains("RAISED") }.count == alerts.count, "\(subjects)")
        #expect(subjects.filter { $0.contains("CLEARED") }.count == alerts.count, "\(subjects)")
    }

    /// An alert as "RULE on AGENT".
    static func raise(_ alert: AlertRecord) -> String { "\(alert.ruleName) on \(alert.agent?.description ?? "-")" }

    // MARK: - The swarm

    struct Swarm {
        var db: String
        var store: SQLiteStore
        var processes: [BackgroundProcess]
    }

    /// `streamswarm server` in A on 10.71.1.2 (mesh, alerting; no gateway), agent edge-a beside
    /// it in A and agent edge-r2 in R2, dialling it across R1; returns once both are online.
    static func startSwarm(_ lab: NetLab, binary: String, dir: String) async throws -> Swarm {
        let certs = "\(dir)/certs"
        try ProvisionScript.run(["init"], dir: certs)
        try ProvisionScript.run(["server", "--dns", "swarm.lab"], dir: certs)
        for agent in [edgeA, edgeR2] { try ProvisionScript.run(["agent", agent], dir: certs) }
        let db = "\(dir)/swarm.sqlite"
        let store = try SQLiteStore(configuration: .init(path: db), logger: Logger(label: "lab.store"))
        let noResponders = ["--responder-udp-port", "0", "--responder-bandwidth-port", "0"]
        var processes = [
            try lab.spawn(
                .a,
                [
                    binary, "server", "--listen", "0.0.0.0:7443", "--db", db, "--http", "", "--ca", "\(certs)/ca.pem",
                    "--cert", "\(certs)/server.pem", "--key", "\(certs)/server.key", "--revoked",
                    "\(certs)/revoked.txt", "--heartbeat-interval", "1s",
                ] + noResponders
            )
        ]
        for (agent, node) in [(edgeA, NetLab.Node.a), (edgeR2, .r2)] {
            processes.append(
                try lab.spawn(
                    node,
                    [
                        binary, "agent", "--server", "\(lab.addresses.a):7443", "--server-name", "swarm.lab",
                        "--ca", "\(certs)/ca.pem", "--cert", "\(certs)/agents/\(agent).pem", "--key",
                        "\(certs)/agents/\(agent).key", "--spool", "\(dir)/\(agent)-spool.sqlite",
                        "--reconnect-cap", "1s",
                    ] + noResponders
                )
            )
        }
        let online = try await eventually(timeout: .seconds(30)) {
            for agent in [edgeA, edgeR2] {
                guard let name = AgentName(agent), try await store.agent(name)?.online == true else { return false }
            }
            return true
        }
        if !online {
            for process in processes { await process.terminate() }
            Issue.record("agents not online: \(processes.map(\.stderr))")
            throw FixtureError("the lab swarm did not come up")
        }
        return Swarm(db: db, store: store, processes: processes)
    }

    // MARK: - Faults

    /// Routes both directions through R1's delay line (20 ms each way), or around it.
    static func delayLine(_ lab: NetLab, on: Bool) async throws {
        for (device, table) in [("r1a", "100"), ("r1b", "101")] {
            let action = on ? "add" : "del"
            let result = try await lab.run(
                .r1,
                ["ip", "-4", "rule", action, "iif", device, "lookup", table, "pref", table],
                timeout: .seconds(10)
            )
            try #require(result.succeeded || !on, "ip rule \(action) \(device): \(result.stderr)")
        }
    }

    static func nft(_ lab: NetLab, _ arguments: [String]) async throws {
        let result = try await lab.run(.r1, ["nft"] + arguments, timeout: .seconds(10))
        try #require(result.succeeded, "nft \(arguments.joined(separator: " ")): \(result.stderr)")
    }

    static func tc(_ lab: NetLab, _ arguments: [String]) async throws {
        let result = try await lab.run(.r2, ["tc"] + arguments, timeout: .seconds(10))
        try #require(result.succeeded, "tc \(arguments.joined(separator: " ")): \(result.stderr)")
    }

    /// R3 beside R2: R1 (10.71.4.1) — R3 (10.71.4.2, 10.71.5.1) — B (10.71.5.2). Only routes
    /// through it when ``route(_:viaThirdRouter:)`` says so; B answers through R2 as before.
    static func addThirdRouter(_ lab: NetLab, name: String, dir: String) throws {
        let ns = { (node: String) in "\(lab.name)-\(node)" }
        let commands: [[String]] = [
            ["ip", "netns", "add", name],
            ["ip", "-n", name, "link", "set", "lo", "up"],
            ["ip", "-n", ns("r1"), "link", "add", "r1c", "type", "veth", "peer", "name", "r3a", "netns", name],
            ["ip", "-n", name, "link", "add", "r3b", "type", "veth", "peer", "name", "b1", "netns", ns("b")],
            ["ip", "-n", ns("r1"), "addr", "add", "10.71.4.1/24", "dev", "r1c"],
            ["ip", "-n", ns("r1"), "link", "set", "r1c", "up"],
            ["ip", "-n", name, "addr", "add", "10.71.4.2/24", "dev", "r3a"],
            ["ip", "-n", name, "addr", "add", "10.71.5.1/24", "dev", "r3b"],
            ["ip", "-n", name, "link", "set", "r3a", "up"],
            ["ip", "-n", name, "link", "set", "r3b", "up"],
            ["ip", "-n", ns("b"), "addr", "add", "10.71.5.2/24", "dev", "b1"],
            ["ip", "-n", ns("b"), "link", "set", "b1", "up"],
            ["ip", "-n", name, "route", "add", "\(lab.addresses.b)/32", "via", "10.71.5.2"],
            ["ip", "-n", name, "route", "add", "10.71.1.0/24", "via", "10.71.4.1"],
            ["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            // B takes packets for its R2-side address on the R3 link and answers through R2.
            ["ip", "netns", "exec", ns("b"), "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"],
            ["ip", "netns", "exec", ns("b"), "sysctl", "-qw", "net.ipv4.conf.b1.rp_filter=0"],
        ]
        for command in commands { try host(command, dir: dir) }
    }

    /// Runs a command in this (the host's) namespace, as `netlab.sh` does to build the lab.
    static func host(_ command: [String], dir: String) throws {
        let (status, text) = try ChildProcess.run("/usr/bin/env", command, in: dir)
        try #require(status == 0, "\(command.joined(separator: " ")): exit \(status): \(text)")
    }

    /// Sends B's traffic from R1 through R3 (the slower path: through R1's delay line too) or
    /// back through R2.
    static func route(_ lab: NetLab, viaThirdRouter: Bool) async throws {
        let via = viaThirdRouter ? "10.71.4.2" : "10.71.2.2"
        let result = try await lab.run(
            .r1,
            ["ip", "route", "replace", "10.71.3.0/24", "via", via],
            timeout: .seconds(10)
        )
        try #require(result.succeeded, "ip route replace via \(via): \(result.stderr)")
        try await delayLine(lab, on: viaThirdRouter)
    }
}
