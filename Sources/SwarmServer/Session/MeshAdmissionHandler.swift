import Logging
import NIOCore
import NIOSSL
import NIOTLS
import SwarmPKI
import SwarmWire

/// Admits a mesh peer once its TLS handshake completes: checks ALPN, reads the agent identity from
/// the verified client certificate and refuses revoked serials.
///
/// It sits between TLS and framing. A refused peer gets one `Error` frame saying why, then the
/// connection closes; the listener is unaffected.
final class MeshAdmissionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let revocations: RevocationList
    private let promise: EventLoopPromise<PeerIdentity>
    private let logger: Logger
    private var decided = false
    private var admitted = false

    init(revocations: RevocationList, promise: EventLoopPromise<PeerIdentity>, logger: Logger) {
        self.revocations = revocations
        self.promise = promise
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted(let negotiated) = event {
            admit(context: context, negotiatedProtocol: negotiated)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func admit(context: ChannelHandlerContext, negotiatedProtocol: String?) {
        do {
            guard negotiatedProtocol == MeshTLS.alpn else {
                throw PKIError(
                    code: .wrongALPN,
                    message: "peer did not negotiate ALPN \(MeshTLS.alpn) (got \(negotiatedProtocol ?? "none")): "
                        + "it is not a StreamSwarm agent of protocol v1"
                )
            }
            guard let certificate = try context.pipeline.syncOperations.nioSSL_peerCertificate() else {
                throw PKIError(code: .noPeerCertificate, message: "peer presented no client certificate")
            }
            let identity = try PeerIdentity(certificate: certificate)
            if revocations.contains(serial: identity.serial) {
                throw PKIError(
                    code: .revoked,
                    message: "certificate \(identity.serial) of agent \(identity.agent) is revoked: "
                        + "issue a new one with 'scripts/provision-certs.sh agent \(identity.agent) --force'"
                )
            }
            decided = true
            admitted = true
            promise.succeed(identity)
        } catch {
            refuse(context: context, error: error)
        }
    }

    private func refuse(context: ChannelHandlerContext, error: any Error) {
        decided = true
        let pkiError = error as? PKIError
        let code: Mesh.ErrorMessage.Code = pkiError?.code == .revoked ? .revoked : .unauthenticated
        logger.notice(
            "refused mesh peer",
            metadata: [
                LogKey.peerAddress.rawValue: "\(context.channel.remoteAddress?.description ?? "?")",
                "swarm.reason": "\(pkiError?.message ?? "\(error)")",
            ]
        )
        promise.fail(error)
        let channel = context.channel
        guard
            let frame = try? MeshCodec.encode(
                .error(Mesh.ErrorMessage(code: code, message: pkiError?.message ?? "\(error)", fatal: true)),
                allocator: channel.allocator
            )
        else {
            context.close(promise: nil)
            return
        }
        var out = channel.allocator.buffer(capacity: frame.payload.readableBytes + MeshFrame.headerBytes)
        // try?: encoding into a fresh buffer cannot fail for a frame we just built.
        try? MeshFrameEncoder().encode(data: frame, out: &out)
        // Close a while after the error frame is written, so the peer reads why before the
        // connection goes (closing at once can reset it and lose the frame; 250 ms proved too short
        // on a loaded 2-core host); a peer that reads it and hangs up first ends the connection sooner.
        context.writeAndFlush(Self.wrapOutboundOut(out)).whenComplete { _ in
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Bytes before admission cannot happen (TLS delivers none before the handshake); after a
        // refusal they are dropped.
        guard admitted else { return }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !decided {
            decided = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !decided {
            decided = true
            promise.fail(
                PKIError(code: .noPeerCertificate, message: "connection closed before the TLS handshake completed")
            )
        }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension MeshAdmissionHandler: Sendable {}
