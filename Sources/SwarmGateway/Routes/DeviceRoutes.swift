import Foundation
import Hummingbird
import Logging
import SwarmAnalytics
import SwarmCore
import SwarmPKI
import SwarmStore

/// Managed gNMI devices: list with status, detail with capabilities and the latest figures, add
/// (credentials sealed with the device key, never returned), remove; and the path correlation of a
/// traceroute test with the devices along it.
struct DeviceRoutes {
    let store: any Store
    let vault: DeviceVault?
    var readings: DeviceReadings { DeviceReadings(store: store) }

    struct DeviceList: Encodable { var devices: [DeviceDTO] }

    /// What a client may send to add a device. Credentials go in, never out.
    struct Write: StrictBody {
        static let fields: Set<String> = [
            "name", "address", "port", "interfaceAddresses", "auth", "username", "password", "clientCertificatePem",
            "clientKeyPem", "caCertificatePem", "serverName", "pinnedCertificatePem", "subscriptions", "mode",
            "encoding", "pollIntervalMs", "reportIntervalMs", "agents",
        ]
        var name: String
        var address: String
        var port: Int
        var interfaceAddresses: [String]?
        var auth: String?
        var username: String?
        var password: String?
        var clientCertificatePem: String?
        var clientKeyPem: String?
        var caCertificatePem: String?
        var serverName: String?
        var pinnedCertificatePem: String?
        var subscriptions: [SubscriptionDTO]?
        var mode: String?
        var encoding: String?
        var pollIntervalMs: Int64?
        var reportIntervalMs: Int64?
        var agents: [String]
    }

    func add(to api: APIRouteBuilder) {
        api.on(.get, "devices", .role(.viewer)) { _, _ in
            var list: [DeviceDTO] = []
            for device in try await store.devices() {
                list.append(DeviceDTO(device, status: try await readings.newest(device)))
            }
            return try JSONResponse.make(DeviceList(devices: list))
        }
        api.on(.get, "devices/:id", .role(.viewer)) { _, context in
            let device = try await existing(context)
            let status = try await readings.latest(device)
            var dto = DeviceDTO(device, status: status)
            dto.capabilities = status.capabilities.map(CapabilitiesDTO.init)
            if let snapshot = status.snapshot { dto.latest = SnapshotDTO(snapshot) }
            return try JSONResponse.make(dto)
        }
        api.on(.post, "devices", .role(.admin)) { request, context in
            let body = try await request.decodeStrict(Write.self, context: context)
            let record = try await record(from: body)
            let stored: DeviceRecord
            do {
                stored = try await store.createDevice(record)
            } catch let error as StoreError {
                throw GatewayError.from(error)
            }
            let who = context.principal?.username ?? "?"
            context.logger.notice("device \(stored.name) (\(stored.address):\(stored.port)) added by \(who)")
            if !stored.pinnedCertificatePEM.isEmpty {
                context.logger.warning(
                    "device \(stored.name) trusts a pinned self-signed certificate (operator choice)"
                )
            }
            return try JSONResponse.make(
                DeviceDTO(stored, status: try await readings.newest(stored)),
                status: .created
            )
        }
        api.on(.delete, "devices/:id", .role(.admin)) { _, context in
            let device = try await existing(context)
            try await store.deleteDevice(id: device.id)
            context.logger.notice("device \(device.name) removed by \(context.principal?.username ?? "?")")
            return JSONResponse.noContent
        }
        api.on(.get, "results/path", .role(.viewer)) { request, _ in
            let q = request.uri.queryParameters
            let test = try ResultRoutes.test(q)
            let now = Timestamp.now()
            let range = try ResultRoutes.range(q, default: TimeRange(from: now - .seconds(3600), to: now))
            let correlation = try await readings.path(test: test, agent: try ResultRoutes.agent(q), range: range)
            return try JSONResponse.make(PathDTO(correlation))
        }
    }

    private func existing(_ context: GatewayContext) async throws -> DeviceRecord {
        let raw = try context.parameters.require("id")
        guard let id = Int64(raw), id > 0 else { throw GatewayError.badRequest("device id must be a positive integer") }
        guard let device = try await store.device(id: id) else {
            throw GatewayError.notFound("device \(id) does not exist")
        }
        return device
    }

    private func record(from body: Write) async throws -> DeviceRecord {
        let authText = body.auth ?? "password"
        guard let auth = GNMIConnection.Auth(rawValue: authText) else {
            throw GatewayError.badRequest("'auth' must be password, certificate or certificate+password")
        }
        guard let mode = GNMIConnection.Mode(rawValue: body.mode ?? "stream") else {
            throw GatewayError.badRequest("'mode' must be stream, poll or once")
        }
        guard let encoding = GNMIConnection.Encoding(rawValue: body.encoding ?? "json_ietf") else {
            throw GatewayError.badRequest("'encoding' must be json_ietf, json, proto, ascii or bytes")
        }
        let secrets = DeviceSecrets(password: body.password ?? "", clientKeyPEM: body.clientKeyPem ?? "")
        if auth.needsPassword && secrets.password.isEmpty {
            throw GatewayError.badRequest("auth \(auth.rawValue) needs a 'password'")
        }
        if auth.needsCertificate && secrets.clientKeyPEM.isEmpty {
            throw GatewayError.badRequest("auth \(auth.rawValue) needs 'clientCertificatePem' and 'clientKeyPem'")
        }
        var sealed = Data()
        if secrets != DeviceSecrets() {
            guard let vault else {
                throw GatewayError.badRequest(
                    "this gateway has no device key to seal credentials with: start the server with --device-key-file FILE "
                        + "or SWARM_DEVICE_KEY"
                )
            }
            sealed = try vault.seal(secrets, for: body.name)
        }
        let subscriptions = try (body.subscriptions ?? []).map { try $0.subscription() }
        let agents = try await TestRoutes.knownAgents(body.agents, store: store)
        return DeviceRecord(
            name: body.name,
            address: body.address,
            port: body.port,
            interfaceAddresses: body.interfaceAddresses ?? [],
            auth: auth,
            username: body.username ?? "",
            sealedSecrets: sealed,
            clientCertificatePEM: body.clientCertificatePem ?? "",
            caCertificatePEM: body.caCertificatePem ?? "",
            serverName: body.serverName ?? "",
            pinnedCertificatePEM: body.pinnedCertificatePem ?? "",
            subscriptions: subscriptions.isEmpty ? GNMISubscription.defaultSet : subscriptions,
            mode: mode,
            encoding: encoding,
            pollInterval: .milliseconds(body.pollIntervalMs ?? 10_000),
            reportInterval: .milliseconds(body.reportIntervalMs ?? 10_000),
            agents: agents
        )
    }
}

struct SubscriptionDTO: Codable {
    var path: String
    var mode: String
    var sampleIntervalMs: Int64?
    var heartbeatIntervalMs: Int64?
    var suppressRedundant: Bool?

    init(_ s: GNMISubscription) {
        path = s.path
        mode = s.mode.rawValue
        sampleIntervalMs = s.sampleInterval.milliseconds
        heartbeatIntervalMs = s.heartbeatInterval.milliseconds
        suppressRedundant = s.suppressRedundant
    }

    func subscription() throws -> GNMISubscription {
        guard let parsed = GNMISubscription.Mode(rawValue: mode) else {
            throw GatewayError.badRequest(
                "subscription mode '\(mode.prefix(40))' must be sample, on-change or target-defined"
            )
        }
        guard path.hasPrefix("/") || path.contains(":/") else {
            throw GatewayError.badRequest("subscription path '\(path.prefix(80))' must start with /")
        }
        return GNMISubscription(
            path: path,
            mode: parsed,
            sampleInterval: .milliseconds(sampleIntervalMs ?? (parsed == .sample ? 10_000 : 0)),
            heartbeatInterval: .milliseconds(heartbeatIntervalMs ?? 0),
            suppressRedundant: suppressRedundant ?? false
        )
    }
}

/// A device as the API shows it: settings and status, never credentials (only whether they exist).
struct DeviceDTO: Encodable {
    struct Status: Encodable {
        var state: String
        var at: String?
        var reason: String
        var errorKind: String
    }
    var id: Int64
    var name: String
    var address: String
    var port: Int
    var interfaceAddresses: [String]
    var auth: String
    var username: String
    var hasCredentials: Bool
    var trust: String
    var serverName: String
    var subscriptions: [SubscriptionDTO]
    var mode: String
    var encoding: String
    var pollIntervalMs: Int64
    var reportIntervalMs: Int64
    var agents: [String]
    var testId: Int64?
    var createdAt: String
    var status: Status
    var capabilities: CapabilitiesDTO?
    var latest: SnapshotDTO?

    init(_ d: DeviceRecord, status: DeviceStatus) {
        id = d.id
        name = d.name
        address = d.address
        port = d.port
        interfaceAddresses = d.interfaceAddresses
        auth = d.auth.rawValue
        username = d.username
        hasCredentials = !d.sealedSecrets.isEmpty
        trust = !d.pinnedCertificatePEM.isEmpty ? "pinned" : (d.caCertificatePEM.isEmpty ? "system" : "ca")
        serverName = d.serverName
        subscriptions = d.subscriptions.map(SubscriptionDTO.init)
        mode = d.mode.rawValue
        encoding = d.encoding.rawValue
        pollIntervalMs = d.pollInterval.milliseconds
        reportIntervalMs = d.reportInterval.milliseconds
        agents = d.agents.map(\.rawValue)
        testId = d.testID?.rawValue
        createdAt = d.createdAt.iso8601
        self.status = Status(
            state: status.state,
            at: status.at?.iso8601,
            reason: status.reason,
            errorKind: status.errorKind
        )
    }
}

struct CapabilitiesDTO: Encodable {
    struct Model: Encodable {
        var name: String
        var organization: String
        var version: String
    }
    var version: String
    var encodings: [String]
    var models: [Model]

    init(_ c: GNMISnapshot.Capabilities) {
        version = c.version
        encodings = c.encodings
        models = c.models.map { Model(name: $0.name, organization: $0.organization, version: $0.version) }
    }
}

struct SnapshotDTO: Encodable {
    struct Interface: Encodable {
        var name: String
        var operStatus: String
        var speedBps: UInt64?
        var inBps: Double?
        var outBps: Double?
        var inUtilisationPercent: Double?
        var outUtilisationPercent: Double?
        var inErrors: UInt64
        var outErrors: UInt64
        var inDiscards: UInt64
        var outDiscards: UInt64
    }
    struct Queue: Encodable {
        var interface: String
        var queue: String
        var transmittedPackets: UInt64
        var droppedPackets: UInt64
    }
    var deviceTimestamp: String?
    var cpuPercent: Double?
    var memoryUsedBytes: UInt64?
    var memoryTotalBytes: UInt64?
    var interfaces: [Interface]
    var queues: [Queue]

    init(_ s: GNMISnapshot) {
        deviceTimestamp = s.deviceTimestamp?.iso8601
        cpuPercent = s.cpuPercent
        memoryUsedBytes = s.memoryUsedBytes
        memoryTotalBytes = s.memoryTotalBytes
        interfaces = s.interfaces.map {
            Interface(
                name: $0.name,
                operStatus: $0.operStatus,
                speedBps: $0.speedBitsPerSecond,
                inBps: $0.inBitsPerSecond,
                outBps: $0.outBitsPerSecond,
                inUtilisationPercent: $0.inUtilisationPercent,
                outUtilisationPercent: $0.outUtilisationPercent,
                inErrors: $0.inErrors,
                outErrors: $0.outErrors,
                inDiscards: $0.inDiscards,
                outDiscards: $0.outDiscards
            )
        }
        queues = s.queues.map {
            Queue(
                interface: $0.interface,
                queue: $0.queue,
                transmittedPackets: $0.transmittedPackets,
                droppedPackets: $0.droppedPackets
            )
        }
    }
}

/// `GET /results/path`: hops with the managed device (if any) and its figures in the window.
struct PathDTO: Encodable {
    struct Device: Encodable {
        var id: Int64
        var name: String
        var address: String
    }
    struct Interface: Encodable {
        var name: String
        var operStatus: String
        var inUtilisationMaxPercent: Double?
        var outUtilisationMaxPercent: Double?
        var inBpsMax: Double?
        var outBpsMax: Double?
        var inErrors: UInt64
        var outErrors: UInt64
        var inDiscards: UInt64
        var outDiscards: UInt64
    }
    struct Figures: Encodable {
        var samples: Int
        var status: String
        var reason: String
        var cpuAveragePercent: Double?
        var cpuMaxPercent: Double?
        var memoryUsedPercent: Double?
        var queueDrops: UInt64
        var interfaces: [Interface]
    }
    struct Hop: Encodable {
        var ttl: Int
        var address: String
        var seen: Int
        var device: Device?
        var figures: Figures?
    }
    var test: Int64
    var from: String
    var to: String
    var runs: Int
    var hops: [Hop]

    init(_ c: DevicePath) {
        test = c.test.rawValue
        from = c.range.from.iso8601
        to = c.range.to.iso8601
        runs = c.runs
        hops = c.hops.map { h in
            Hop(
                ttl: h.ttl,
                address: h.address,
                seen: h.seen,
                device: h.device.map { Device(id: $0.id, name: $0.name, address: $0.address) },
                figures: h.figures.map { f in
                    Figures(
                        samples: f.samples,
                        status: f.status,
                        reason: f.reason,
                        cpuAveragePercent: f.cpuAveragePercent,
                        cpuMaxPercent: f.cpuMaxPercent,
                        memoryUsedPercent: f.memoryUsedPercent,
                        queueDrops: f.queueDrops,
                        interfaces: f.interfaces.map {
                            Interface(
                                name: $0.name,
                                operStatus: $0.operStatus,
                                inUtilisationMaxPercent: $0.inUtilisationMaxPercent,
                                outUtilisationMaxPercent: $0.outUtilisationMaxPercent,
                                inBpsMax: $0.inBitsPerSecondMax,
                                outBpsMax: $0.outBitsPerSecondMax,
                                inErrors: $0.inErrors,
                                outErrors: $0.outErrors,
                                inDiscards: $0.inDiscards,
                                outDiscards: $0.outDiscards
                            )
                        }
                    )
                }
            )
        }
    }
}
