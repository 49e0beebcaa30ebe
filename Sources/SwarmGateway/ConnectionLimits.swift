import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// Bounds on what one HTTP connection may hold: stalled sockets are closed, and the gateway never
/// takes more connections than it can afford in descriptors (the mesh listener shares them).
public struct HTTPLimits: Sendable, Hashable {
    /// From a request's first byte to its complete head (a slow-header client is closed).
    public var headerTimeout: Duration = .seconds(10)
    /// From a request's head to the end of its body.
    public var bodyTimeout: Duration = .seconds(30)
    /// A connection with no request in progress is closed after this (keep-alive idle).
    public var idleTimeout: Duration = .seconds(60)
    /// Open connections at most; further connections wait in the kernel's accept queue.
    public var maxConnections: Int = HTTPLimits.defaultMaxConnections

    public init() {}

    /// A quarter of the descriptor limit, at most 4096: the rest stays for the mesh and the store.
    public static var defaultMaxConnections: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 256 }
        let soft = Int(clamping: min(limit.rlim_cur, 1 << 20))  // RLIM_INFINITY is all ones
        return max(16, min(4096, soft / 4))
    }
}

extension Gateway {
    /// The Hummingbird application for `router` with the connection limits applied. Tests build
    /// theirs here too, so they exercise the same server the binary runs.
    static func makeApplication(
        router: Router<GatewayContext>,
        host: String,
        port: Int,
        limits: HTTPLimits,
        logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> Application<RouterResponder<GatewayContext>> {
        let headerTimeout = TimeAmount(limits.headerTimeout)
        let bodyTimeout = TimeAmount(limits.bodyTimeout)
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        RequestTimeoutHandler(headerTimeout: headerTimeout, bodyTimeout: bodyTimeout, logger: logger)
                    ],
                    idleTimeout: TimeAmount(limits.idleTimeout)
                )
            ),
            configuration: .init(
                address: .hostname(host, port: port),
                serverName: "StreamSwarm",
                availableConnectionsDelegate: .maximum(limits.maxConnections, logger: logger)
            ),
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}

/// Closes a connection whose request head does not arrive within `headerTimeout` of its first
/// byte, or whose body does not end within `bodyTimeout` of the head.
///
/// It sits after the HTTP decoder (it sees request parts) and puts a small byte watcher in front
/// of the decoder, which tells it when a request's first byte arrives.
final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase {
        /// Waiting for the first byte of the next request (the idle timeout covers this).
        case idle
        case readingHead
        case readingBody
        /// Read in full; the response is being produced (an event stream may take hours).
        case responding
    }
    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let logger: Logger
    private var phase = Phase.idle
    private var deadline: Scheduled<Void>?

    init(headerTimeout: TimeAmount, bodyTimeout: TimeAmount, logger: Logger) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let watcher = FirstByteWatcher(owner: self, context: context)
        try? context.pipeline.syncOperations.addHandler(watcher, position: .first)
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    /// Called by the watcher, on this channel's event loop, for every chunk of bytes read.
    fileprivate func bytesArrived(context: ChannelHandlerContext) {
        guard case .idle = phase else { return }
        phase = .readingHead
        arm(context, after: headerTimeout, reason: "no complete request head")
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .readingBody
            arm(context, after: bodyTimeout, reason: "request body not finished")
        case .body:
            break
        case .end:
            phase = .responding
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // A response may be written before its request is read in full (an early 413):
            // the connection is closed by Hummingbird then, so only a finished request goes idle.
            if case .responding = phase { phase = .idle }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, after timeout: TimeAmount, reason: String) {
        disarm()
        let logger = self.logger
        let channel = context.channel
        deadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: timeout) {
            logger.notice(
                "closing HTTP connection from \(channel.remoteAddress?.ipAddress ?? "?"): \(reason) within \(timeout.nanoseconds / 1_000_000) ms"
            )
            channel.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

/// Passes bytes through untouched, telling its owner that some arrived.
private final class FirstByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let owner: RequestTimeoutHandler
    private let ownerContext: ChannelHandlerContext

    init(owner: RequestTimeoutHandler, context: ChannelHandlerContext) {
        self.owner = owner
        self.ownerContext = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner.bytesArrived(context: ownerContext)
        context.fireChannelRead(data)
    }
}
