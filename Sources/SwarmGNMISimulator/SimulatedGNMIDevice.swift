import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwarmGNMI
// why: Settings.encodings lists generated gNMI encodings.
public import SwarmGNMIProto
import SwiftProtobuf
import Synchronization

/// A simulated gNMI device for tests, the network lab and the collector bench: a grpc-swift-2
/// server implementing Capabilities, Get and Subscribe (STREAM with SAMPLE / ON_CHANGE /
/// heartbeats / suppress-redundant, POLL and ONCE) over TLS or mutual TLS, checking
/// username/password metadata, with OpenConfig counters that move. A library of its own, so the
/// `swarm-gnmi-target` executable links no test support.
///
/// It serves interfaces `eth0…`, each with the 18 counters of openconfig-interfaces, oper-status
/// and port-speed, one CPU component, system memory and one output queue per interface. Octet
/// counters grow at `bitsPerSecond` from the (re)start, so rates are known to the test.
public final class SimulatedGNMIDevice: Sendable {
    public enum Security: Sendable {
        case plaintext
        /// TLS with this certificate; with `clientCA`, client certificates signed by it are required.
        case tls(certificatePEM: String, keyPEM: String, clientCA: String?)
    }

    public struct Settings: Sendable {
        public var security: Security
        /// Required in `username`/`password` metadata when set.
        public var credentials: (username: String, password: String)?
        public var interfaces = 2
        /// How many of the 18 openconfig-interfaces counters each interface has (the first N).
        public var countersPerInterface = 18
        public var bitsPerSecond: Double = 80_000_000
        public var portSpeed = "openconfig-if-ethernet:SPEED_1GB"
        public var encodings: [Gnmi_Encoding] = [.jsonIetf, .json, .proto]
        public var cpuPercent: Double = 12.5
        /// Send CPU as the deprecated `decimal_val` (older devices).
        public var legacyDecimalCPU = false
        public var memoryPhysical: UInt64 = 8 << 30
        public var memoryUsed: UInt64 = 3 << 30
        public init(security: Security, credentials: (username: String, password: String)? = nil) {
            self.security = security
            self.credentials = credentials
        }
    }

    public let settings: Settings
    private let state = Mutex(RunState())
    private struct RunState {
        var server: GRPCServer<HTTP2ServerTransport.Posix>?
        var task: Task<Void, any Error>?
        var port = 0
        var startedAt = ContinuousClock.now
        var operStatus: [String: String] = [:]
        var silent = false
        var updatesSent = 0
        var subscribeCalls = 0
        var lastUsername = ""
    }
    private let changes = ChangeBroadcaster()

    public let host: String

    public init(_ settings: Settings, host: String = "127.0.0.1") {
        self.settings = settings
        self.host = host
    }

    /// Starts listening on `host` (`port` 0 picks a free one); returns the port.
    @discardableResult
    public func start(port: Int = 0) async throws -> Int {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port),
            transportSecurity: transportSecurity(),
            config: .defaults
        )
        let server = GRPCServer(transport: transport, services: [SimulatedGNMIService(target: self)])
        let task = Task { try await server.serve() }
        guard let bound = try await transport.listeningAddress.ipv4?.port else {
            throw RPCError(code: .internalError, message: "simulated gNMI device did not bind an IPv4 port")
        }
        state.withLock {
            $0.server = server
            $0.task = task
            $0.port = bound
            $0.startedAt = .now
            $0.silent = false
        }
        return bound
    }

    /// Stops the server; open subscriptions end (the client sees the connection close).
    public func stop() async {
        let (server, task) = state.withLock { s in
            defer {
                s.server = nil
                s.task = nil
            }
            return (s.server, s.task)
        }
        server?.beginGracefulShutdown()
        // why: cancelling serve() while the transport still holds accepted, unserved connections
        // traps in NIOAsyncWriter's deinit (debug builds); a moment of graceful shutdown first lets
        // the closed listener hand them over. Open subscriptions never end on their own: cancel then.
        guard let task else { return }
        let canceller = Task {
            try? await Task.sleep(for: .milliseconds(200))
            task.cancel()
        }
        _ = try? await task.value
        canceller.cancel()
    }

    /// A reboot: stop, then listen on the same port again with counters from zero.
    public func restart() async throws {
        let port = self.port
        await stop()
        var lastError: (any Error)?
        for _ in 0..<50 {
            do {
                try await start(port: port)
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw lastError ?? RPCError(code: .internalError, message: "restart failed")
    }

    public var port: Int { state.withLock { $0.port } }
    /// Leaf updates sent to all subscribers so far.
    public var updatesSent: Int { state.withLock { $0.updatesSent } }
    public var subscribeCalls: Int { state.withLock { $0.subscribeCalls } }
    public var lastUsername: String { state.withLock { $0.lastUsername } }

    /// Stops sending on open streams while keeping them open (a middlebox that silently dropped
    /// the connection looks like this to the client).
    public func goSilent() { state.withLock { $0.silent = true } }

    /// Changes an interface's oper-status; ON_CHANGE subscribers get it at once.
    public func setOperStatus(_ interface: String, _ status: String) {
        state.withLock { $0.operStatus[interface] = status }
        changes.notify()
    }

    // MARK: - The data model

    enum LeafValue: Equatable {
        case counter(UInt64)
        case gauge(Double)
        case text(String)
    }

    struct Leaf {
        var path: [Gnmi_PathElem]
        var value: LeafValue
    }

    static let counterNames = [
        "in-octets", "in-pkts", "in-unicast-pkts", "in-broadcast-pkts", "in-multicast-pkts", "in-errors",
        "in-discards", "in-unknown-protos", "in-fcs-errors", "out-octets", "out-pkts", "out-unicast-pkts",
        "out-broadcast-pkts", "out-multicast-pkts", "out-errors", "out-discards", "carrier-transitions", "last-clear",
    ]

    static func elem(_ name: String, _ keys: [String: String] = [:]) -> Gnmi_PathElem {
        var e = Gnmi_PathElem()
        e.name = name
        e.key = keys
        return e
    }

    /// Every leaf the device has right now.
    func leaves() -> [Leaf] {
        let (elapsed, status) = state.withLock { s in
            ((ContinuousClock.now - s.startedAt), s.operStatus)
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var leaves: [Leaf] = []
        for index in 0..<settings.interfaces {
            let name = "eth\(index)"
            let interface = [Self.elem("interfaces"), Self.elem("interface", ["name": name])]
            let octets = UInt64(settings.bitsPerSecond / 8 * seconds)
            for (n, counter) in Self.counterNames.prefix(settings.countersPerInterface).enumerated() {
                let value: UInt64 =
                    switch counter {
                    case "in-octets", "out-octets": octets
                    case "in-pkts", "out-pkts", "in-unicast-pkts", "out-unicast-pkts": octets / 1000
                    case "in-errors", "in-fcs-errors": 1 + UInt64(seconds * 10)
                    case "out-discards": UInt64(seconds / 2)
                    default: UInt64(n)
                    }
                leaves.append(
                    Leaf(
                        path: interface + [Self.elem("state"), Self.elem("counters"), Self.elem(counter)],
                        value: .counter(value)
                    )
                )
            }
            leaves.append(
                Leaf(
                    path: interface + [Self.elem("state"), Self.elem("oper-status")],
                    value: .text(status[name] ?? "UP")
                )
            )
            leaves.append(
                Leaf(
                    path: interface + [Self.elem("ethernet"), Self.elem("state"), Self.elem("port-speed")],
                    value: .text(settings.portSpeed)
                )
            )
            let queue = [
                Self.elem("qos"), Self.elem("interfaces"), Self.elem("interface", ["interface-id": name]),
                Self.elem("output"), Self.elem("queues"), Self.elem("queue", ["name": "BE"]), Self.elem("state"),
            ]
            leaves.append(Leaf(path: queue + [Self.elem("transmit-pkts")], value: .counter(octets / 1000)))
            leaves.append(Leaf(path: queue + [Self.elem("dropped-pkts")], value: .counter(UInt64(seconds))))
        }
        leaves.append(
            Leaf(
                path: [
                    Self.elem("components"), Self.elem("component", ["name": "CPU0"]), Self.elem("cpu"),
                    Self.elem("utilization"), Self.elem("state"), Self.elem("instant"),
                ],
                value: .gauge(settings.cpuPercent)
            )
        )
        let memory = [Self.elem("system"), Self.elem("memory"), Self.elem("state")]
        leaves.append(Leaf(path: memory + [Self.elem("physical")], value: .counter(settings.memoryPhysical)))
        leaves.append(Leaf(path: memory + [Self.elem("used")], value: .counter(settings.memoryUsed)))
        return leaves
    }

    static let roots: Set<String> = ["interfaces", "components", "system", "qos"]

    /// Whether `pattern` selects `path`: a prefix with equal names; keys absent or `*` match any.
    static func matches(_ pattern: [Gnmi_PathElem], _ path: [Gnmi_PathElem]) -> Bool {
        guard pattern.count <= path.count else { return false }
        for (p, e) in zip(pattern, path) {
            guard p.name == e.name else { return false }
            for (key, value) in p.key where value != "*" && e.key[key] != value { return false }
        }
        return true
    }

    /// The leaves a subscription path selects, or a NOT_FOUND error for a path the device lacks.
    func select(_ path: Gnmi_Path, from all: [Leaf]) throws -> [Leaf] {
        let selected = all.filter { Self.matches(path.elem, $0.path) }
        if selected.isEmpty && !(path.elem.isEmpty) {
            let text = "/" + path.elem.map(\.name).joined(separator: "/")
            throw RPCError(code: .notFound, message: "unknown path \(text)")
        }
        return path.elem.isEmpty ? all : selected
    }

    func typed(_ value: LeafValue, encoding: Gnmi_Encoding) -> Gnmi_TypedValue {
        var v = Gnmi_TypedValue()
        switch (value, encoding) {
        case (.counter(let n), .jsonIetf): v.jsonIetfVal = Data("\"\(n)\"".utf8)  // RFC 7951: 64-bit as strings
        case (.counter(let n), .json): v.jsonVal = Data("\(n)".utf8)
        case (.counter(let n), .ascii): v.asciiVal = String(n)
        case (.counter(let n), _): v.uintVal = n
        case (.gauge(let d), _) where settings.legacyDecimalCPU:
            var decimal = Gnmi_Decimal64()
            decimal.digits = Int64((d * 100).rounded())
            decimal.precision = 2
            v.decimalVal = decimal
        case (.gauge(let d), .jsonIetf): v.jsonIetfVal = Data("\(d)".utf8)
        case (.gauge(let d), .json): v.jsonVal = Data("\(d)".utf8)
        case (.gauge(let d), _): v.doubleVal = d
        case (.text(let s), .jsonIetf): v.jsonIetfVal = Data("\"\(s)\"".utf8)
        case (.text(let s), .json): v.jsonVal = Data("\"\(s)\"".utf8)
        case (.text(let s), _): v.stringVal = s
        }
        return v
    }

    /// Leaves grouped into notifications by parent container, with the container as prefix
    /// (as devices send them), so clients must join prefix and path.
    func notifications(_ leaves: [Leaf], encoding: Gnmi_Encoding, target: String) -> [Gnmi_Notification] {
        var groups: [[Gnmi_PathElem]: [Leaf]] = [:]
        var order: [[Gnmi_PathElem]] = []
        for leaf in leaves {
            let parent = Array(leaf.path.dropLast())
            if groups[parent] == nil { order.append(parent) }
            groups[parent, default: []].append(leaf)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        return order.map { parent in
            var n = Gnmi_Notification()
            n.timestamp = now
            n.prefix.elem = parent
            n.prefix.target = target
            n.update = (groups[parent] ?? []).map { leaf in
                var u = Gnmi_Update()
                u.path.elem = [leaf.path[leaf.path.count - 1]]
                u.val = typed(leaf.value, encoding: encoding)
                return u
            }
            return n
        }
    }

    private func transportSecurity() -> HTTP2ServerTransport.Posix.TransportSecurity {
        switch settings.security {
        case .plaintext:
            return .plaintext
        case .tls(let certificate, let key, let clientCA):
            var tls = HTTP2ServerTransport.Posix.TransportSecurity.TLS.defaults(
                certificateChain: [.bytes(Array(certificate.utf8), format: .pem)],
                privateKey: .bytes(Array(key.utf8), format: .pem)
            )
            if let clientCA {
                tls.clientCertificateVerification = .noHostnameVerification
                tls.trustRoots = .certificates([.bytes(Array(clientCA.utf8), format: .pem)])
            }
            return .tls(tls)
        }
    }

    func authenticate(_ metadata: Metadata) throws {
        let username = metadata["username"].first(where: { _ in true }).flatMap { value -> String? in
            if case .string(let s) = value { s } else { nil }
        }
        let password = metadata["password"].first(where: { _ in true }).flatMap { value -> String? in
            if case .string(let s) = value { s } else { nil }
        }
        state.withLock { $0.lastUsername = username ?? "" }
        guard let required = settings.credentials else { return }
        guard username == required.username, password == required.password else {
            throw RPCError(code: .unauthenticated, message: "authentication failed for user \(username ?? "(none)")")
        }
    }

    func checkEncoding(_ encoding: Gnmi_Encoding) throws {
        guard settings.encodings.contains(encoding) else {
            throw RPCError(code: .unimplemented, message: "unsupported encoding \(encoding)")
        }
    }

    func sent(_ count: Int) { state.withLock { $0.updatesSent += count } }
    var isSilent: Bool { state.withLock { $0.silent } }
    func countSubscribe() { state.withLock { $0.subscribeCalls += 1 } }
    var changeStream: AsyncStream<Void> { changes.subscribe() }
}
