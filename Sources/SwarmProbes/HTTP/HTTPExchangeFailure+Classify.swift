import Glibc
import NIOCore
import NIOHTTP1
import NIOSSL

extension HTTPExchangeFailure {
    /// Turns an error from NIO, NIOSSL or the HTTP decoder into a kind and an operator's sentence.
    static func classify(_ error: any Error) -> HTTPExchangeFailure {
        switch error {
        case let error as NIOSSLError:
            if case .handshakeFailed(let boringError) = error {
                let text = "\(boringError)"
                if text.contains("CERTIFICATE_VERIFY_FAILED") {
                    return HTTPExchangeFailure(kind: .certificate, message: "certificate verify failed")
                }
                return HTTPExchangeFailure(kind: .tls, message: "TLS handshake failed: \(text)")
            }
            return HTTPExchangeFailure(kind: .tls, message: "TLS error: \(error)")
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return HTTPExchangeFailure(
                kind: .certificate,
                message: "certificate verify failed: the certificate is not valid for this host name (\(error))"
            )
        case let error as NIOSSLExtraError:
            return HTTPExchangeFailure(kind: .tls, message: "TLS error: \(error)")
        case let error as IOError:
            let text = String(cString: strerror(error.errnoCode)).lowercased()
            return HTTPExchangeFailure(kind: .connect, message: "connect failed: \(text)")
        case ChannelError.connectTimeout:
            return HTTPExchangeFailure(kind: .timeout, message: "connect timed out")
        case let error as HTTPParserError:
            return HTTPExchangeFailure(kind: .response, message: "malformed HTTP response: \(error)")
        default:
            return HTTPExchangeFailure(kind: .response, message: "\(error)")
        }
    }
}
