import NIOCore
import NIOHTTP1
import NIOSSL

/// Last handler: sends the request when the connection is up (NIOSSL holds it until the handshake
/// is done), reads the response head and body (decoding gzip/deflate and matching the expected
/// text as it streams), and finishes the exchange on the end, an error or an early close.
final class HTTPExchangeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let recorder: HTTPExchangeRecorder
    private let head: HTTPRequestHead
    private let certificateOnly: Bool
    private var matcher: SubstringMatcher?
    private var inflater: BodyInflater?

    /// - Parameter certificateOnly: stop once the handshake is done (to read the certificate).
    init(recorder: HTTPExchangeRecorder, head: HTTPRequestHead, expectSubstring: String, certificateOnly: Bool) {
        self.recorder = recorder
        self.head = head
        self.certificateOnly = certificateOnly
        matcher = expectSubstring.isEmpty ? nil : SubstringMatcher(expectSubstring)
    }

    func channelActive(context: ChannelHandlerContext) {
        if certificateOnly {
            recorder.onHandshakeDone = { [recorder] in recorder.finish(nil) }
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            var response = HTTPExchangeOutcome.Response(
                statusCode: Int(head.status.code),
                reasonPhrase: head.status.reasonPhrase,
                httpVersion: "HTTP/\(head.version.major).\(head.version.minor)"
            )
            response.location = head.headers["location"].first ?? ""
            let encoding = (head.headers["content-encoding"].last ?? "").lowercased()
            response.contentEncoding = String(encoding.filter { $0 != " " && $0 != "\t" })
            if BodyInflater.canDecode(response.contentEncoding) {
                inflater = BodyInflater(encoding: response.contentEncoding)
                response.decodedBytes = 0
            } else if response.contentEncoding.isEmpty || response.contentEncoding == "identity" {
                response.decodedBytes = 0
            }
            recorder.response = response
        case .body(let buffer):
            // Optional-chained assignments begin their write access before the right-hand side is
            // evaluated, so values are read into locals first (exclusivity).
            guard var response = recorder.response else { return }
            response.bodyBytes += UInt64(buffer.readableBytes)
            if let inflater {
                do {
                    try inflater.feed(buffer.readableBytesView) { matcher?.feed($0) }
                } catch {
                    response.decodingProblem = "the \(response.contentEncoding) body is corrupt: \(error)"
                    self.inflater = nil
                }
                response.decodedBytes = inflater.decodedBytes
            } else {
                matcher?.feed(buffer.readableBytesView)
                if response.decodingProblem == nil, response.decodedBytes != nil {
                    response.decodedBytes = response.bodyBytes
                }
            }
            recorder.response = response
        case .end:
            recorder.times.finished = .now
            if var response = recorder.response {
                if let inflater, !inflater.finished, response.bodyBytes > 0, response.decodingProblem == nil {
                    response.decodingProblem = "the compressed body ends before its compressed stream does"
                }
                response.bodyMatched = matcher?.found
                recorder.response = response
            }
            recorder.finish(nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Servers that close without close_notify end a read-until-close body that way; the close
        // that follows completes the response.
        if let sslError = error as? NIOSSLError, case .uncleanShutdown = sslError, recorder.response != nil { return }
        recorder.finish(HTTPExchangeFailure.classify(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        let what = recorder.response == nil ? "before sending a response" : "before the response was complete"
        recorder.finish(HTTPExchangeFailure(kind: .response, message: "the server closed the connection \(what)"))
        context.fireChannelInactive()
    }
}
