import Logging
// why: the harness hands tests NIO channels, TLS configurations and server/store/wire types.
public import NIOCore
import NIOPosix
public import NIOSSL
import SwarmAgent
import SwarmCore
public import SwarmPKI
public import SwarmServer
public import SwarmStoreSQLite
public import SwarmWire
import Synchronization

/// Runs a real ``MeshServer`` on 127.0.0.1 with an ephemeral port for the duration of `body`, then
/// shuts it down gracefully, in the success and the error path.
public func withMeshServer<T: Sendable>(
    pki: TestingPKI,
    store: SQLiteStore,
    configure: (inout MeshServer.Configuration) -> Void = { _ in },
    _ body: (MeshServer, Int) async throws -> T
) async throws -> T {
    try await withMeshServer(material: pki.serverMaterial, store: store, configure: configure, body)
}

/// ``withMeshServer(pki:store:configure:_:)`` with TLS material from anywhere (files, another CA).
public func withMeshServer<T: Sendable>(
    material: MeshTLSMaterial,
    store: SQLiteStore,
    configure: (inout MeshServer.Configuration) -> Void = { _ in },
    _ body: (MeshServer, Int) async throws -> T
) async throws -> T {
    var configuration = MeshServer.Configuration(tls: material)
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configuration.drainTimeout = .seconds(2)
    configure(&configuration)
    let port = Gate<Int>()
    let server = try MeshServer(configuration: configuration, store: store, logger: Logger(label: "test.mesh")) {
        address in
        port.open(address.port ?? 0)
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

/// A hand-driven mesh client for protocol tests: real TCP and TLS, raw frames.
public struct SimulatedMeshClient: Sendable {
    public let channel: NIOAsyncChannel<MeshFrame, MeshFrame>

    /// Connects with `tls` (pass a configuration to shape odd clients: no certificate, other ALPN).
    public static func connect(
        port: Int,
        tls: TLSConfiguration,
        serverName: String? = "localhost"
    ) async throws -> SimulatedMeshClient {
        let connector = MeshConnector(
            host: "127.0.0.1",
            port: port,
            serverName: serverName,
            sslContext: try NIOSSLContext(configuration: tls)
        )
        return SimulatedMeshClient(channel: try await connector.connect())
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
                    MeshCodec.encode(
                        .hello(
                            Mesh.Hello(
                                agentVersion: agentVersion,
                                host: HostFacts(hostname: "test"),
                                capabilities: [.tcp, .system]
                            )
                        )
                    )
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

/// A TLS client that writes raw bytes, for hostile-input tests: whatever the server sends back is
/// collected until it closes the connection.
public struct RawTLSClient: Sendable {
    public let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    public static func connect(port: Int, tls: TLSConfiguration) async throws -> RawTLSClient {
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: "localhost")
                    )
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawTLSClient(channel: channel)
    }

    /// Sends Hello (unless told not to), then `bytes`, and returns every message the server sent
    /// until it closed.
    public func helloThenSend(_ bytes: [UInt8], sayHello: Bool = true) async throws -> [MeshMessage] {
        try await channel.executeThenClose { inbound, outbound in
            var hello = ByteBuffer()
            let frame = try MeshCodec.encode(
                .hello(Mesh.Hello(agentVersion: "raw", host: HostFacts(hostname: "raw"), capabilities: []))
            )
            try MeshFrameEncoder().encode(data: frame, out: &hello)
            if sayHello { try await outbound.write(hello) }
            try await outbound.write(ByteBuffer(bytes: bytes))
            var received = ByteBuffer()
            do {
                for try await var chunk in inbound { received.writeBuffer(&chunk) }
            } catch {
                // The server closing hard (TLS alert, reset) ends the read like EOF does.
            }
            var messages: [MeshMessage] = []
            var decoder = MeshFrameDecoder()
            while let next = try decoder.decode(buffer: &received) {
                messages.append(try MeshCodec.decode(next))
            }
            return messages
        }
    }
}

/// A loopback port that is free now, chosen below the kernel's ephemeral range (32768+) so that
/// other tests binding port 0 in parallel cannot be handed the same port before this test binds it
/// again (a server restarted on the same port).
public func freeLoopbackPort() async throws -> Int {
    for _ in 0..<50 {
        let candidate = Int.random(in: 20_000..<30_000)
        if let channel = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(
            host: "127.0.0.1",
            port: candidate
        ).get() {
            try await channel.close()
            return candidate
        }
    }
    throw ChildProcessError(description: "no free loopback port in 20000..<30000 after 50 tries")
}
