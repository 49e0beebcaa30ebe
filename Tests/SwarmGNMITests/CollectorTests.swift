import Foundation
import Logging
import SwarmCore
import SwarmGNMI
import SwarmGNMIProto
import SwarmGNMISimulator
import SwarmPKI
import SwarmTestSupport
import Synchronization
import Testing
import X509

/// The collector against the test gNMI target over real TLS on loopback.
@Suite("gNMI collector", .serialized, .timeLimit(.minutes(2)))
struct CollectorTests {
    let pki: TestingPKI
    let device: CertificateAuthority.Issued
    let logger = Logger(label: "test.gnmi")

    init() throws {
        pki = try TestingPKI()
        device = try pki.device()
    }

    /// Fast subscriptions so a test sees several samples in a second.
    static let fast: [GNMISubscription] = [
        GNMISubscription(path: "/interfaces/interface[name=*]/state/counters", sampleInterval: .milliseconds(200)),
        GNMISubscription(
            path: "/interfaces/interface/state/oper-status",
            mode: .onChange,
            sampleInterval: .zero,
            heartbeatInterval: .milliseconds(400)
        ),
        GNMISubscription(
            path: "/interfaces/interface/ethernet/state/port-speed",
            mode: .onChange,
            sampleInterval: .zero
        ),
        GNMISubscription(
            path: "/components/component/cpu/utilization/state/instant",
            sampleInterval: .milliseconds(200)
        ),
        GNMISubscription(path: "/system/memory/state", sampleInterval: .milliseconds(200)),
        GNMISubscription(
            path: "/qos/interfaces/interface/output/queues/queue/state",
            sampleInterval: .milliseconds(200)
        ),
    ]

    func target(
        credentials: (String, String)? = ("admin", "s3cret"),
        clientCA: Bool = false,
        configure: (inout SimulatedGNMIDevice.Settings) -> Void = { _ in }
    ) async throws -> SimulatedGNMIDevice {
        var settings = SimulatedGNMIDevice.Settings(
            security: .tls(
                certificatePEM: device.certificatePEM,
                keyPEM: device.privateKeyPEM,
                clientCA: clientCA ? pki.ca.certificatePEM : nil
            ),
            credentials: credentials.map { (username: $0.0, password: $0.1) }
        )
        configure(&settings)
        let target = SimulatedGNMIDevice(settings)
        try await target.start()
        return target
    }

    func connection(
        _ target: SimulatedGNMIDevice,
        auth: GNMIConnection.Auth = .password,
        password: String = "s3cret",
        address: String = "127.0.0.1",
        configure: (inout GNMIConnection) -> Void = { _ in }
    ) throws -> GNMIConnection {
        var c = GNMIConnection(
            name: "r1",
            address: address,
            port: target.port,
            auth: auth,
            username: "admin",
            password: password,
            caCertificatePEM: pki.ca.certificatePEM,
            subscriptions: Self.fast
        )
        if auth.needsCertificate {
            let client = try pki.collector()
            c.clientCertificatePEM = client.certificatePEM
            c.clientKeyPEM = client.privateKeyPEM
        }
        configure(&c)
        return c
    }

    /// The failure `connection` meets at connect (Capabilities), or nil when it connects.
    func connectFailure(_ connection: GNMIConnection) async -> GNMIFailure? {
        do {
            _ = try await GNMISession.withSession(connection, logger: logger) { try await $0.capabilities() }
            return nil
        } catch {
            return error
        }
    }

    /// Runs a collector until `done` holds for what it reported (or the time is up).
    func collect(
        _ connection: GNMIConnection,
        report: Duration = .milliseconds(300),
        for limit: Duration = .seconds(10),
        during: (@Sendable () async throws -> Void)? = nil,
        until done: @escaping @Sendable ([ProbeObservation]) -> Bool
    ) async throws -> [ProbeObservation] {
        var collector = DeviceCollector(
            testID: TestID(1),
            revision: 1,
            deviceID: 9,
            connection: connection,
            reportInterval: report,
            logger: logger
        )
        collector.backoffBase = .milliseconds(100)
        collector.backoffCap = .milliseconds(400)
        let seen = Mutex<[ProbeObservation]>([])
        let task = Task { await collector.run { batch in seen.withLock { $0 += batch } } }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + limit
        var duringTask: Task<Void, any Error>?
        if let during { duringTask = Task { try await during() } }
        while ContinuousClock.now < deadline, !done(seen.withLock { $0 }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await duringTask?.value
        task.cancel()
        await task.value
        return seen.withLock { $0 }
    }

    static func snapshots(_ observations: [ProbeObservation]) -> [GNMISnapshot] {
        observations.compactMap { o in
            if case .gnmi(let s) = o.result, o.status == .ok { s } else { nil }
        }
    }

    // MARK: - Authentication methods

    @Test("username/password over server-verified TLS: capabilities, moving counters, rates and utilisation")
    func passwordAuth() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let seen = try await collect(try connection(target)) { observations in
            Self.snapshots(observations).contains { $0.interfaces.first?.inBitsPerSecond != nil }
        }
        let snapshots = Self.snapshots(seen)
        let first = try #require(snapshots.first)
        let capabilities = try #require(first.capabilities, "the first report after connect carries capabilities")
        #expect(capabilities.version == "0.10.0")
        #expect(capabilities.encodings.contains("json_ietf"))
        #expect(capabilities.models.map(\.name).contains("openconfig-interfaces"))
        #expect(first.rpcLatency != nil)
        let latest = try #require(snapshots.last { $0.interfaces.first?.inBitsPerSecond != nil })
        let eth0 = try #require(latest.interfaces.first)
        #expect(eth0.name == "eth0")
        #expect(latest.interfaces.count == 2)
        #expect(eth0.speedBitsPerSecond == 1_000_000_000)
        #expect(eth0.operStatus == "UP")
        let rate = try #require(eth0.inBitsPerSecond)
        #expect(abs(rate - 80_000_000) / 80_000_000 < 0.25, "in rate \(rate) bit/s, target moves at 80 Mbit/s")
        let utilisation = try #require(eth0.inUtilisationPercent)
        #expect(abs(utilisation - 8) < 2)
        #expect(eth0.inOctets > 0 && eth0.inErrors > 0)
        #expect(latest.cpuPercent == 12.5)
        #expect(latest.memoryTotalBytes == 8 << 30 && latest.memoryUsedBytes == 3 << 30)
        #expect(latest.queues.count == 2)
        #expect(snapshots.reduce(0) { $0 + $1.updates } > 50)
        #expect(target.lastUsername == "admin")
    }

    @Test("client certificate (mTLS) without a password")
    func certificateAuth() async throws {
        let target = try await target(credentials: nil, clientCA: true)
        defer { Task { await target.stop() } }
        let seen = try await collect(try connection(target, auth: .certificate)) { !Self.snapshots($0).isEmpty }
        #expect(!Self.snapshots(seen).isEmpty)
        #expect(target.lastUsername == "", "certificate auth sends no username")
    }

    @Test("client certificate plus username/password")
    func certificateAndPassword() async throws {
        let target = try await target(clientCA: true)
        defer { Task { await target.stop() } }
        #expect(await connectFailure(try connection(target, auth: .certificateAndPassword)) == nil)
        #expect(target.lastUsername == "admin")
        let refused = await connectFailure(try connection(target, auth: .certificateAndPassword, password: "nope"))
        #expect(refused?.kind == .wrongCredentials)
    }

    @Test("a device that requires a client certificate refuses a password-only collector, and says so")
    func clientCertificateRequired() async throws {
        let target = try await target(clientCA: true)
        defer { Task { await target.stop() } }
        let failure = try #require(await connectFailure(try connection(target)))
        #expect(failure.kind == .clientCertificateRejected, "\(failure)")
        #expect(
            failure.message
                == "r1 (127.0.0.1:\(target.port)) refused the connection (no client certificate was sent) during the TLS "
                + "handshake; the device requires mutual TLS: use auth certificate or certificate+password"
        )
    }

    // MARK: - Failures an operator sees

    @Test("wrong credentials")
    func wrongCredentials() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let failure = try #require(await connectFailure(try connection(target, password: "wrong")))
        #expect(failure.kind == .wrongCredentials)
        #expect(
            failure.message
                == "r1 (127.0.0.1:\(target.port)) refused the credentials for user \"admin\" "
                + "(authentication failed for user admin); check the device's username and password"
        )
    }

    @Test("a plaintext device is refused, never used without TLS")
    func plaintextDevice() async throws {
        let target = SimulatedGNMIDevice(.init(security: .plaintext))
        try await target.start()
        defer { Task { await target.stop() } }
        let failure = try #require(await connectFailure(try connection(target)))
        #expect(failure.kind == .plaintextDevice, "\(failure)")
        #expect(failure.message.hasPrefix("r1 (127.0.0.1:\(target.port)) "))
        #expect(failure.message.hasSuffix("enable TLS on the device — StreamSwarm never falls back to plaintext"))
        #expect(target.subscribeCalls == 0)
    }

    @Test("a certificate without a matching SAN; the server-name override fixes it")
    func nameMismatch() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        // The certificate names router1.lab.example and 127.0.0.1; dial it as "localhost".
        let failure = try #require(await connectFailure(try connection(target, address: "localhost")))
        #expect(failure.kind == .certificateNameMismatch, "\(failure)")
        #expect(
            failure.message
                == "r1 (localhost:\(target.port)) presented a certificate for router1.lab.example, 127.0.0.1, not localhost; "
                + "set the device's server name to one of those, or reissue its certificate with localhost"
        )
        let fixed = try connection(target, address: "localhost") { $0.serverName = "router1.lab.example" }
        #expect(await connectFailure(fixed) == nil)
    }

    @Test("a device certificate from an unknown CA")
    func unknownCA() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let other = try TestingPKI()
        let failure = try #require(
            await connectFailure(try connection(target) { $0.caCertificatePEM = other.ca.certificatePEM })
        )
        #expect(failure.kind == .unknownCA, "\(failure)")
        #expect(failure.message.contains("does not chain to the device CA configured for it"))
        #expect(
            failure.message.hasSuffix(
                "set the device's CA certificate (or pin the device certificate if it is self-signed)"
            )
        )
    }

    @Test("an expired device certificate")
    func expired() async throws {
        let expired = try pki.device(expired: true)
        let target = SimulatedGNMIDevice(
            .init(security: .tls(certificatePEM: expired.certificatePEM, keyPEM: expired.privateKeyPEM, clientCA: nil))
        )
        try await target.start()
        defer { Task { await target.stop() } }
        let failure = try #require(await connectFailure(try connection(target)))
        #expect(failure.kind == .certificateExpired, "\(failure)")
        #expect(failure.message.contains("that expired on "))
        #expect(failure.message.hasSuffix("; renew the device certificate"))
    }

    @Test("a device certificate whose extended key usage is not serverAuth is refused")
    func clientOnlyCertificate() async throws {
        let clientOnly = try pki.device(usage: .clientAuth)
        let target = SimulatedGNMIDevice(
            .init(
                security: .tls(
                    certificatePEM: clientOnly.certificatePEM,
                    keyPEM: clientOnly.privateKeyPEM,
                    clientCA: nil
                )
            )
        )
        try await target.start()
        defer { Task { await target.stop() } }
        let failure = try #require(await connectFailure(try connection(target)))
        #expect(failure.kind == .certificateNotForServers, "\(failure)")
        #expect(failure.message.hasSuffix("reissue it with serverAuth"))
    }

    @Test("a pinned self-signed certificate is trusted only while it is the same certificate")
    func pinned() async throws {
        let own = try TestingPKI.selfSigned()
        let target = SimulatedGNMIDevice(
            .init(security: .tls(certificatePEM: own.certificatePEM, keyPEM: own.privateKeyPEM, clientCA: nil))
        )
        try await target.start()
        defer { Task { await target.stop() } }
        let unpinned = try #require(await connectFailure(try connection(target)))
        #expect(unpinned.kind == .unknownCA)
        let pinned = try connection(target) {
            $0.caCertificatePEM = ""
            $0.pinnedCertificatePEM = own.certificatePEM
        }
        #expect(await connectFailure(pinned) == nil)
        let rekeyed = try connection(target) { $0.pinnedCertificatePEM = try! TestingPKI.selfSigned().certificatePEM }
        let failure = try #require(await connectFailure(rekeyed))
        #expect(failure.kind == .pinnedCertificateMismatch)
        #expect(failure.message.contains("that is not the pinned one"))
    }

    @Test("an encoding the device does not list is refused before subscribing; a refusal from the device is named too")
    func unsupportedEncoding() async throws {
        let target = try await target { $0.encodings = [.jsonIetf] }
        defer { Task { await target.stop() } }
        let seen = try await collect(try connection(target) { $0.encoding = .proto }) { !$0.isEmpty }
        let first = try #require(seen.first)
        #expect(first.status == .failed)
        #expect(
            first.reason
                == "r1 (127.0.0.1:\(target.port)) does not support encoding proto (it offers json_ietf); "
                + "set the device's encoding to one of those"
        )
        guard case .gnmi(let failed) = first.result else {
            Issue.record("a failed collection still carries a gnmi result with its error kind")
            return
        }
        #expect(failed.errorKind == "unsupported_encoding")
        #expect(target.subscribeCalls == 0)
        // A device that lists no encodings refuses at Subscribe instead.
        let silent = try await self.target { $0.encodings = [] }
        defer { Task { await silent.stop() } }
        let refused = try await collect(try connection(silent) { $0.encoding = .ascii }) { !$0.isEmpty }
        #expect(
            refused.first?.reason.contains("does not support encoding ascii") == true,
            "\(refused.first?.reason ?? "")"
        )
    }

    @Test("an unknown path")
    func unknownPath() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let conn = try connection(target) { $0.subscriptions = [GNMISubscription(path: "/vendor/secret/state")] }
        let seen = try await collect(conn) { !$0.isEmpty }
        let first = try #require(seen.first)
        #expect(
            first.reason
                == "r1 (127.0.0.1:\(target.port)) does not know a requested path (unknown path /vendor/secret/state); "
                + "remove or correct the path"
        )
    }

    @Test("nothing listening: connection refused, with the port named")
    func refused() async throws {
        let target = try await target()
        let port = target.port
        await target.stop()
        let failure = try #require(await connectFailure(try connection(target)))
        #expect(failure.kind == .connectionRefused, "\(failure)")
        #expect(
            failure.message
                == "r1 (127.0.0.1:\(port)) refused the connection: nothing listens on port \(port); "
                + "check the port (vendor defaults differ) and that gNMI is enabled"
        )
    }

    // MARK: - Resilience and modes

    @Test("a device restart mid-stream: the failure is reported, the collector redials and data resumes")
    func restartMidStream() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let restarted = Mutex(false)
        let seen = try await collect(
            try connection(target),
            for: .seconds(20),
            during: {
                try await Task.sleep(for: .seconds(1))
                try await target.restart()
                restarted.withLock { $0 = true }
            },
            until: { observations in
                // Done once data flowed again after a failure.
                guard let failed = observations.firstIndex(where: { $0.status != .ok }) else { return false }
                return observations[failed...].contains {
                    $0.status == .ok && Self.snapshots([$0]).first?.capabilities != nil
                }
            }
        )
        #expect(restarted.withLock { $0 })
        let failed = try #require(seen.firstIndex { $0.status != .ok }, "the outage was reported")
        #expect(seen[..<failed].contains { $0.status == .ok })
        #expect(seen[failed...].contains { $0.status == .ok }, "collection resumed: \(seen.map(\.reason))")
        for s in Self.snapshots(seen) {
            for i in s.interfaces {
                #expect((i.inBitsPerSecond ?? 0) >= 0, "no negative rate across the counter reset")
            }
        }
        #expect(target.subscribeCalls >= 2)
    }

    @Test("ON_CHANGE: a change arrives at once, and heartbeats re-send unchanged status")
    func onChangeAndHeartbeat() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let statusOnly = [
            GNMISubscription(
                path: "/interfaces/interface/state/oper-status",
                mode: .onChange,
                sampleInterval: .zero,
                heartbeatInterval: .milliseconds(300)
            )
        ]
        let seen = try await collect(
            try connection(target) { $0.subscriptions = statusOnly },
            report: .milliseconds(500),
            during: {
                try await Task.sleep(for: .milliseconds(1200))
                target.setOperStatus("eth1", "DOWN")
            },
            until: { observations in
                Self.snapshots(observations).contains {
                    $0.interfaces.contains { $0.name == "eth1" && $0.operStatus == "DOWN" }
                }
            }
        )
        let snapshots = Self.snapshots(seen)
        #expect(snapshots.contains { $0.interfaces.contains { $0.operStatus == "DOWN" } })
        // Initial set (2) + heartbeats every 300 ms for two interfaces: well over the initial two.
        let beforeChange = snapshots.prefix(2).reduce(0) { $0 + $1.updates }
        #expect(beforeChange >= 6, "heartbeats re-sent status: \(snapshots.map(\.updates))")
    }

    @Test("POLL mode: one full set per poll")
    func pollMode() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let conn = try connection(target) {
            $0.mode = .poll
            $0.pollInterval = .milliseconds(200)
        }
        let seen = try await collect(conn) {
            Self.snapshots($0).filter { $0.interfaces.first?.inBitsPerSecond != nil }.count >= 2
        }
        #expect(Self.snapshots(seen).contains { $0.interfaces.first?.inBitsPerSecond != nil })
        #expect(target.subscribeCalls == 1, "polls ride one Subscribe RPC")
    }

    @Test("ONCE mode: a subscription per report, ended by the device after sync")
    func onceMode() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let seen = try await collect(try connection(target) { $0.mode = .once }, report: .milliseconds(200)) {
            Self.snapshots($0).count >= 3
        }
        #expect(Self.snapshots(seen).allSatisfy { $0.interfaces.count == 2 })
        #expect(target.subscribeCalls >= 3)
    }

    @Test("a stream that goes quiet is detected and redialled")
    func quietStream() async throws {
        let target = try await target()
        defer { Task { await target.stop() } }
        let seen = try await collect(
            try connection(target),
            during: {
                try await Task.sleep(for: .milliseconds(800))
                target.goSilent()
            },
            until: { $0.contains { $0.status == .failed } }
        )
        let failure = try #require(seen.first { $0.status == .failed })
        #expect(failure.reason.contains("sent nothing for"), "\(failure.reason)")
        #expect(failure.reason.hasSuffix("(a middlebox may have dropped the connection); redialling"))
    }

    @Test("Get reads one-shot values; legacy decimal CPU decodes")
    func get() async throws {
        let target = try await target { $0.legacyDecimalCPU = true }
        defer { Task { await target.stop() } }
        let response = try await GNMISession.withSession(try connection(target), logger: logger) { session in
            try await session.get(
                paths: [try GNMIPath.parse("/components/component[name=CPU0]/cpu/utilization/state/instant")],
                encoding: .proto
            )
        }
        var state = OpenConfigState()
        for n in response.notification { state.apply(n) }
        #expect(state.takeSnapshot(deviceID: 1, deviceName: "", address: "").cpuPercent == 12.5)
    }
}
