import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwarmCore

/// One HTTP/1.1 request and response over its own connection on NIO, with TLS when the target is
/// https. The pipeline, from the socket up:
///
///     HTTPWireClockHandler → NIOSSLClientHandler (https) → HTTPPlaintextClockHandler
///     → HTTPRequestEncoder / HTTPResponseDecoder → HTTPExchangeHandler
///
/// Never throws: every way it can end is an ``HTTPExchangeOutcome``.
enum HTTPExchange {
    struct Request: Sendable {
        var target: HTTPTarget
        var address: SocketAddress
        var head: HTTPRequestHead
        var expectSubstring = ""
        /// nil for plain http.
        var tlsContext: NIOSSLContext?
        /// Stop after the TLS handshake (used to read a certificate that failed verification).
        var certificateOnly = false
        var dscp = 0
        var deadline: ContinuousClock.Instant
    }

    static func perform(_ request: Request) async -> HTTPExchangeOutcome {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: HTTPExchangeOutcome.self)
        loop.execute { start(request, on: loop, promise: promise) }
        // The promise is only ever succeeded; a failure here would be a bug in `start`.
        return (try? await promise.futureResult.get())
            ?? HTTPExchangeOutcome(failure: HTTPExchangeFailure(kind: .response, message: "the exchange was abandoned"))
    }

    /// Runs on `loop`, so the recorder is created and used on the loop that owns the channel.
    private static func start(
        _ request: Request,
        on loop: any EventLoop,
        promise: EventLoopPromise<HTTPExchangeOutcome>
    ) {
        let recorder = NIOLoopBound(
            HTTPExchangeRecorder(isTLS: request.tlsContext != nil, promise: promise),
            eventLoop: loop
        )
        let remaining = TimeAmount.nanoseconds(max(0, (request.deadline - .now).nanoseconds))
        let timeout = loop.scheduleTask(in: remaining) {
            let stage = recorder.value.stage
            recorder.value.finish(HTTPExchangeFailure(kind: .timeout, message: "no complete response \(stage)"))
        }
        promise.futureResult.whenComplete { _ in timeout.cancel() }

        var bootstrap = ClientBootstrap(group: loop)
            // Our own deadline fires first and says which stage timed out.
            .connectTimeout(remaining + .seconds(1))
            .channelInitializer { channel in
                do {
                    try addHandlers(to: channel, request: request, recorder: recorder.value)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        if request.dscp > 0 {
            let isV6 = request.address.protocol == .inet6
            let option = ChannelOptions.Types.SocketOption(
                level: NIOBSDSocket.OptionLevel(rawValue: Int32(isV6 ? IPPROTO_IPV6 : IPPROTO_IP)),
                name: NIOBSDSocket.Option(rawValue: isV6 ? IPV6_TCLASS : IP_TOS)
            )
            bootstrap = bootstrap.channelOption(option, value: SocketOptionValue(request.dscp << 2))
        }
        bootstrap.connect(to: request.address).whenComplete { result in
            switch result {
            case .success(let channel):
                if recorder.value.isFinished { channel.close(promise: nil) }
            case .failure(let error):
                recorder.value.finish(HTTPExchangeFailure.classify(error))
            }
        }
    }

    private static func addHandlers(
        to channel: any Channel,
        request: Request,
        recorder: HTTPExchangeRecorder
    ) throws {
        recorder.channel = channel
        let pipeline = channel.pipeline.syncOperations
        var tlsHandler: NIOSSLClientHandler?
        if let context = request.tlsContext {
            // SNI and name checks take the host; NIOSSL leaves address literals out of SNI itself.
            let isLiteral = IPAddressText.parse(request.target.host) != nil
            tlsHandler = try NIOSSLClientHandler(
                context: context,
                serverHostname: isLiteral ? nil : request.target.host
            )
        }
        try pipeline.addHandler(HTTPWireClockHandler(recorder: recorder, tls: tlsHandler))
        if let tlsHandler { try pipeline.addHandler(tlsHandler) }
        try pipeline.addHandler(HTTPPlaintextClockHandler(recorder: recorder))
        try pipeline.addHTTPClientHandlers()
        try pipeline.addHandler(
            HTTPExchangeHandler(
                recorder: recorder,
                head: request.head,
                expectSubstring: request.expectSubstring,
                certificateOnly: request.certificateOnly
            )
        )
    }
}
