import Logging
import NIOPosix
import SwarmCore
import SwarmPKI
import Synchronization
// why: the harness hands tests NIO channels, TLS configurations and server/store/wire types.
public import NIOCore
public import NIOSSL
public import SwarmServer
public import SwarmStoreSQLite
public import SwarmWire

/// Runs a real ``MeshServer`` on 127.0.0.1 with an ephemeral port for the duration of `body`, then
/// shuts it down gracefully, in the success and the error path.
public func withMeshServer<T: Sendable>(
    pki: TestPKI,
    store: SQLiteStore,
    configure: (inout MeshServer.Configuration) -> Void = { _ in },
    _ body: (MeshServer, Int) async throws -> T
) async throws -> T {
    var configuration = MeshServer.Configuration(tls: pki.serverMaterial)
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configuration.drainTimeout = .seconds(2)
    configure(&configuration)
    let port = PortBox()
    let server = try MeshServer(configuration: configuration, store: store, logger: Logger(label: "test.mesh")) { address in
        port.set(address.port ?? 0)
    }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer { group.cancelAll() }
        let bound = await port.wait()
        return try await body(server, bound)
    }
}

/// Opens a fresh SQLite store in `directory`.
public func makeTestStore(in directory: String) throws -> SQLiteStore {
    try SQLiteStore(configuration: .init(path: "\(directory)/test.sqlite"), logger: Logger(label: "test.store"))
}

private final class PortBox: Sendable {
    private let state = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))
    func set(_ port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }
    func wait() async -> Int {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Int? in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// A hand-driven mesh client for protocol tests: real TCP and TLS, raw frames.
public struct MeshTestClient: Sendable {
    public let channel: NIOAsyncChannel<MeshFrame, MeshFrame>

    /// Connects with `tls` (pass a configuration to shape odd clients: no certificate, other ALPN).
    public static func connect(port: Int, tls: TLSConfiguration, serverName: String? = "localhost") async throws -> MeshTestClient {
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try sync.addHandler(ByteToMessageHandler(MeshFrameDecoder()))
                    try sync.addHandler(MessageToByteHandler(MeshFrameEncoder()))
                    return try NIOAsyncChannel<MeshFrame, MeshFrame>(wrappingChannelSynchronously: channel)
                }
            }
        return MeshTestClient(channel: channel)
    }

    /// The outcome of opening a session.
    public enum Opening: Sendable {
        case welcome(Mesh.Welcome)
        case refused(Mesh.ErrorMessage)
        /// The connection closed (or failed) without a frame; the error says why when there was one.
        case closed(String)
    }

    /// Sends Hello and waits for the first answer; always closes the channel when `keepOpen` is false.
    public func hello(agentVersion: String = "test", keepOpen: Bool = false) async -> (Opening, [MeshMessage]) {
        var later: [MeshMessage] = []
        do {
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(
                    MeshCodec.encode(.hello(Mesh.Hello(agentVersion: agentVersion, host: HostFacts(hostname: "test"), capabilities: [.tcp, .system])))
                )
                var iterator = inbound.makeAsyncIterator()
                guard let frame = try await iterator.next() else { return (.closed("closed without a frame"), []) }
                switch try MeshCodec.decode(frame) {
                case .welcome(let welcome):
                    if keepOpen {
                        while let next = try await iterator.next() { later.append(try MeshCodec.decode(next)) }
                    }
                    return (.welcome(welcome), later)
                case .error(let error):
                    return (.refused(error), [])
                default:
                    return (.closed("unexpected first frame"), [])
                }
            }
        } catch {
            return (.closed("\(error)"), later)
        }
    }
}
