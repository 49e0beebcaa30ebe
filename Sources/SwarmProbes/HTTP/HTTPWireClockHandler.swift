import NIOCore
import NIOSSL

/// First handler from the socket: stamps the connect, the connection established and every raw
/// read and flush as they happen, and watches the TLS records going by (ServerHello cipher, the
/// client's first application_data record = handshake done).
///
/// It sits below TLS so the times are those of socket events, not of decrypted data.
final class HTTPWireClockHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let recorder: HTTPExchangeRecorder
    private let tls: NIOSSLClientHandler?
    private var applicationDataWritten = false

    init(recorder: HTTPExchangeRecorder, tls: NIOSSLClientHandler?) {
        self.recorder = recorder
        self.tls = tls
    }

    func connect(context: ChannelHandlerContext, to address: SocketAddress, promise: EventLoopPromise<Void>?) {
        recorder.times.connectStarted = .now
        context.connect(to: address, promise: promise)
    }

    func channelActive(context: ChannelHandlerContext) {
        recorder.times.connected = .now
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        recorder.lastRead = .now
        if tls != nil && recorder.watcher.cipherSuite == nil {
            recorder.watcher.inbound(unwrapInboundIn(data).readableBytesView)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if tls != nil && !applicationDataWritten, case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            applicationDataWritten = recorder.watcher.outbound(buffer.readableBytesView)
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        let now = ContinuousClock.now
        recorder.lastFlush = now
        var handshakeJustDone = false
        if let tls, applicationDataWritten, recorder.times.handshakeDone == nil {
            // NIOSSL flushes the client's first application_data record as the handshake completes.
            recorder.times.handshakeDone = now
            recorder.tlsVersion = HTTPExchangeRecorder.versionText(tls.tlsVersion)
            recorder.certificate = tls.peerCertificate
            handshakeJustDone = true
        }
        context.flush()
        if handshakeJustDone, let callback = recorder.onHandshakeDone {
            recorder.onHandshakeDone = nil
            // Not from inside NIOSSL's call stack: it must not be re-entered.
            context.eventLoop.assumeIsolated().execute { callback() }
        }
    }
}

/// Sits above TLS: the first plaintext byte marks the first response byte, stamped with the time
/// of the socket read that delivered it, and the request as the last flush before it.
final class HTTPPlaintextClockHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let recorder: HTTPExchangeRecorder

    init(recorder: HTTPExchangeRecorder) { self.recorder = recorder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let readAt = recorder.lastRead ?? .now
        if recorder.times.firstByte == nil {
            recorder.times.firstByte = readAt
            recorder.times.requestSent = recorder.lastFlush
        }
        recorder.times.lastByte = readAt
        context.fireChannelRead(data)
    }
}
