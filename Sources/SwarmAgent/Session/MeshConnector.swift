// why: the public API takes and returns NIO channels, an event loop group and a TLS context.
public import NIOCore
public import NIOPosix
public import NIOSSL
import SwarmCore
public import SwarmWire

/// Dials the mesh: TCP (no Nagle), TLS and the frame codec, with the decoder's buffer bounded by
/// the frame limit. The one client pipeline: the agent, the benchmark's simulated agents and the
/// protocol tests all connect through it.
public struct MeshConnector: Sendable {
    public var host: String
    public var port: Int
    /// Sent as SNI (never for an IP address literal) and checked against the server certificate by
    /// the TLS configuration. nil sends no SNI.
    public var serverName: String?
    public var connectTimeout: Duration = .seconds(10)
    /// Largest frame payload accepted from the server.
    public var maxFrameBytes: Int = MeshFrame.defaultMaxPayloadBytes
    public let sslContext: NIOSSLContext

    public init(host: String, port: Int, serverName: String?, sslContext: NIOSSLContext) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.sslContext = sslContext
    }

    /// Opens a connection; TLS completes with the first read or write.
    public func connect(
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> NIOAsyncChannel<MeshFrame, MeshFrame> {
        let sslContext = self.sslContext
        let maxFrameBytes = self.maxFrameBytes
        let sni = serverName.flatMap { name in name.first?.isNumber == true || name.contains(":") ? nil : name }
        return try await ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: sni))
                    try sync.addHandler(
                        ByteToMessageHandler(
                            MeshFrameDecoder(maxPayloadBytes: maxFrameBytes),
                            maximumBufferSize: maxFrameBytes + 2 * MeshFrame.headerBytes + 65_536
                        )
                    )
                    try sync.addHandler(MessageToByteHandler(MeshFrameEncoder()))
                    return try NIOAsyncChannel<MeshFrame, MeshFrame>(wrappingChannelSynchronously: channel)
                }
            }
    }
}
