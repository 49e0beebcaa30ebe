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
        if let frame = try? MeshCodec.encode(
            .error(Mesh.ErrorMessage(code: code, message: pkiError?.message ?? "\(error)", fatal: true)),
            allocator: context.channel.allocator
        ) {
            var out = context.channel.allocator.buffer(capacity: frame.payload.readableBytes + MeshFrame.headerBytes)
            // try?: encoding into a fresh buffer cannot fail for a frame we just built.
            try? MeshFrameEncoder().encode(data: frame, out: &out)
            context.writeAndFlush(Self.wrapOutboundOut(out), promise: nil)
        }
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Bytes before admission cannot happen (TLS delivers none before the handshake); after a
        // refusal they are dropped.
        guard decided else { return }
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
