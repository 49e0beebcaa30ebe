import Foundation
import Logging
import SwarmAnalytics
import SwarmCore
import SwarmGateway
import SwarmPKI
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

/// gNMI end to end through the lab: `streamswarm dev` runs in namespace A; a simulated device
/// (`swarm-gnmi-target`) listens on R1's address inside R1; the device is added with the CLI and
/// collected over TLS by the local agent; a traceroute test from A to B passes R1, and the path
/// correlation shows R1's figures beside hop 1, through the store, the CLI and the API.
@Suite("gNMI devices through the network lab", .serialized, .requiresNetLab)
struct DeviceLabTests {
    static var targetBinary: String? {
        ProbeBinary.path.map {
            URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("swarm-gnmi-target").path
        }
    }

    @Test(
        "dev mode collects from a lab router over gNMI and shows it beside its traceroute hop",
        .timeLimit(.minutes(2))
    )
    func devModeDeviceOnThePath() async throws {
        let binary = try ProbeBinary.require()
        let target = try #require(
            Self.targetBinary.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
        )
        try await withTemporaryDirectory { dir in
            try await NetLab.withLab(NetLabConfig(delayMs: 5)) { lab in
                let r1 = lab.addresses.r1
                let pki = try TestingPKI()
                let device = try pki.device(ipAddresses: [r1], dnsNames: ["r1.lab.example"])
                let files = [
                    "device.pem": device.certificatePEM, "device.key": device.privateKeyPEM,
                    "ca.pem": pki.ca.certificatePEM,
                    "password": "lab-secret\n",
                ]
                for (name, text) in files {
                    try text.write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
                }

                // The router's gNMI service, inside R1.
                let router = try lab.spawn(
                    .r1,
                    [
                        target, "--host", r1, "--port", "9339", "--cert", "\(dir)/device.pem", "--key",
                        "\(dir)/device.key",
                        "--username", "netops", "--password-file", "\(dir)/password", "--interfaces", "3",
                    ]
                )
                #expect(await router.waitForOutput(containing: "listening:"), "target: \(router.stderr)")

                // Dev mode inside A: server, gateway, local agent.
                let data = "\(dir)/data"
                let dev = try lab.spawn(
                    .a,
                    [binary, "dev", "--data", data, "--mesh-port", "7443", "--http-port", "8080"]
                )
                #expect(
                    await dev.waitForOutput(containing: "sign in as admin", timeout: .seconds(30)),
                    "dev: \(dev.stderr)"
                )
                let store = try SQLiteStore(
                    configuration: .init(path: "\(data)/streamswarm.sqlite"),
                    logger: Logger(label: "lab.store")
                )
                #expect(try await eventually(timeout: .seconds(15)) { try await store.agents().contains { $0.online } })

                // The operator adds the router and a traceroute test with the CLI.
                let db = ["--db", "\(data)/streamswarm.sqlite"]
                let add = try await lab.run(
                    .a,
                    [
                        binary, "devices", "add", "--name", "r1", "--address", r1, "--port", "9339", "--auth",
                        "password",
                        "--username", "netops", "--password-file", "\(dir)/password", "--ca", "\(dir)/ca.pem",
                        "--agent",
                        "local", "--device-key-file", "\(data)/device.key", "--report-interval", "1s",
                        "--sample-interval",
                        "1s", "--path", "/interfaces/interface/state/counters", "--path",
                        "/components/component/cpu/utilization/state/instant", "--on-change",
                        "/interfaces/interface/ethernet/state/port-speed", "--on-change",
                        "/interfaces/interface/state/oper-status",
                    ] + db,
                    timeout: .seconds(20)
                )
                #expect(add.succeeded, "devices add: \(add.stdout) \(add.stderr)")
                let trace = try await lab.run(
                    .a,
                    [
                        binary, "tests", "create", "--name", "to-b", "--kind", "traceroute", "--target",
                        lab.addresses.b,
                        "--agent", "local", "--interval", "2s",
                    ] + db,
                    timeout: .seconds(20)
                )
                #expect(trace.succeeded, "tests create: \(trace.stdout) \(trace.stderr)")
                let r1Device = try #require(try await store.device(named: "r1"))
                let traceTest = try #require(try await store.tests().first { $0.spec.probes == [.traceroute] })

                // Device data arrives with rates; traceroute results arrive through R1.
                let collected = try await eventually(timeout: .seconds(30), every: .milliseconds(250)) {
                    let status = try await DeviceReadings(store: store).latest(r1Device)
                    let traces = try await store.measurementCount(test: traceTest.id)
                    return status.snapshot?.interfaces.first?.inBitsPerSecond != nil && traces >= 2
                }
                #expect(collected, "dev: \(dev.stderr.suffix(3000))")
                let now = Timestamp.now()
                let path = try await DeviceReadings(store: store).path(
                    test: traceTest.id,
                    agent: nil,
                    range: TimeRange(from: now - .seconds(300), to: now + .seconds(5))
                )
                let hop1 = try #require(path.hops.first { $0.ttl == 1 })
                #expect(hop1.address == r1)
                #expect(hop1.device?.name == "r1")
                let figures = try #require(hop1.figures)
                #expect(figures.samples >= 1)
                #expect(figures.cpuMaxPercent == 12.5)
                #expect(figures.interfaces.count == 3)
                #expect((figures.interfaces.first?.inBitsPerSecondMax ?? 0) > 60_000_000)
                #expect(path.hops.contains { $0.address == lab.addresses.b && $0.device == nil })

                // The CLI shows the device with its status and figures.
                let show = try await lab.run(.a, [binary, "devices", "show", "r1"] + db, timeout: .seconds(20))
                #expect(show.stdout.contains("status      ok at "), "\(show.stdout)")
                #expect(show.stdout.contains("interface   eth0 UP in "), "\(show.stdout)")
                #expect(!show.stdout.contains("lab-secret"))

                // A one-shot Get from the CLI host (inside A), with the stored settings and credentials.
                let key = ["--device-key-file", "\(data)/device.key"]
                let get = try await lab.run(
                    .a,
                    [binary, "devices", "get", "r1", "/interfaces/interface[name=eth1]/state/counters/in-octets"] + key
                        + db,
                    timeout: .seconds(20)
                )
                #expect(get.succeeded, "devices get: \(get.stdout) \(get.stderr)")
                #expect(
                    get.stdout.hasPrefix("/interfaces/interface[name=eth1]/state/counters/in-octets = "),
                    "\(get.stdout)"
                )
                let unknown = try await lab.run(
                    .a,
                    [binary, "devices", "get", "r1", "/vendor/thing"] + key + db,
                    timeout: .seconds(20)
                )
                #expect(!unknown.succeeded)
                #expect(
                    unknown.stderr.contains("does not know a requested path (unknown path /vendor/thing)"),
                    "\(unknown.stderr)"
                )

                // The API (signed in as the dev admin) shows the device and the correlation.
                let password = try #require(
                    dev.stdout.components(separatedBy: "sign in as admin / ").dropFirst().first?
                        .components(separatedBy: ",").first
                )
                let jar = "\(dir)/cookies"
                let login = try await lab.run(
                    .a,
                    [
                        "curl", "-sS", "-c", jar, "-H", "Content-Type: application/json", "-d",
                        #"{"username":"admin","password":"\#(password)"}"#, "http://127.0.0.1:8080/api/v1/auth/login",
                    ],
                    timeout: .seconds(10)
                )
                #expect(login.stdout.contains("csrfToken"), "\(login.stdout)")
                let api = try await lab.run(
                    .a,
                    ["curl", "-sS", "-b", jar, "http://127.0.0.1:8080/api/v1/results/path?test=\(traceTest.id)"],
                    timeout: .seconds(10)
                )
                let json = try #require(try JSONSerialization.jsonObject(with: Data(api.stdout.utf8)) as? [String: Any])
                let hops = try #require(json["hops"] as? [[String: Any]])
                let first = try #require(hops.first { $0["ttl"] as? Int == 1 })
                #expect((first["device"] as? [String: Any])?["name"] as? String == "r1", "\(api.stdout)")
                #expect((first["figures"] as? [String: Any])?["cpuMaxPercent"] as? Double == 12.5)
                let deviceAPI = try await lab.run(
                    .a,
                    ["curl", "-sS", "-b", jar, "http://127.0.0.1:8080/api/v1/devices/\(r1Device.id)"],
                    timeout: .seconds(10)
                )
                #expect(deviceAPI.stdout.contains(#""state":"ok""#), "\(deviceAPI.stdout)")
                #expect(!deviceAPI.stdout.contains("lab-secret"))
            }
        }
    }
}
