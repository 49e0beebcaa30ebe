import GRPCCore
import NIOCore
import NIOSSL
import SwarmCore

/// Turns whatever a connection or RPC threw into a ``GNMIFailure`` an operator can act on.
enum GNMIErrorClassifier {
    static func classify(_ error: any Error, trust: DeviceTrust, connection: GNMIConnection) -> GNMIFailure {
        if let failure = error as? GNMIFailure { return failure }
        // Our own certificate check ran and refused the device: that is the precise reason.
        if let failure = trust.failure { return failure }
        let label = connection.label
        let chain = describeChain(error)
        if let rpc = error as? RPCError {
            switch rpc.code {
            case .unauthenticated:
                return GNMIFailure(
                    .wrongCredentials,
                    "\(label) refused the credentials for user \"\(connection.username)\" (\(rpc.message)); "
                        + "check the device's username and password"
                )
            case .permissionDenied:
                return GNMIFailure(
                    .wrongCredentials,
                    "\(label) denied user \"\(connection.username)\" access (\(rpc.message)); "
                        + "grant the user gNMI read access on the device"
                )
            case .notFound:
                return GNMIFailure(
                    .unknownPath,
                    "\(label) does not know a requested path (\(rpc.message)); remove or correct the path"
                )
            case .unimplemented where rpc.message.lowercased().contains("encoding"),
                .invalidArgument where rpc.message.lowercased().contains("encoding"):
                return GNMIFailure(
                    .unsupportedEncoding,
                    "\(label) does not support encoding \(connection.encoding.rawValue) (\(rpc.message)); "
                        + "choose one of the encodings its capabilities list"
                )
            case .invalidArgument where rpc.message.lowercased().contains("path"):
                return GNMIFailure(
                    .unknownPath,
                    "\(label) rejected a subscribed path (\(rpc.message)); remove or correct the path"
                )
            case .deadlineExceeded:
                return GNMIFailure(
                    .timeout,
                    "\(label) did not answer within \(GNMISession.unaryTimeout); check that the gNMI service is running"
                )
            case .unavailable:
                return transportFailure(chain, trust: trust, connection: connection, rpcMessage: rpc.message)
            default:
                return GNMIFailure(
                    .deviceError,
                    "\(label) failed the request: \(rpc.code): \(rpc.message); the device's gNMI log says why (retrying)"
                )
            }
        }
        return transportFailure(chain, trust: trust, connection: connection, rpcMessage: "")
    }

    private static func transportFailure(
        _ chain: String,
        trust: DeviceTrust,
        connection: GNMIConnection,
        rpcMessage: String
    ) -> GNMIFailure {
        let label = connection.label
        let text = chain.uppercased()
        if text.contains("CONNECTION REFUSED") || text.contains("ECONNREFUSED") {
            return GNMIFailure(
                .connectionRefused,
                "\(label) refused the connection: nothing listens on port \(connection.port); "
                    + "check the port (vendor defaults differ) and that gNMI is enabled"
            )
        }
        let tlsAlert = [
            "ALERT_CERTIFICATE_REQUIRED", "ALERT_BAD_CERTIFICATE", "ALERT_UNKNOWN_CA", "ALERT_HANDSHAKE_FAILURE",
            "ALERT_CERTIFICATE_UNKNOWN", "ALERT_ACCESS_DENIED",
        ]
        if trust.presentedCertificate, tlsAlert.contains(where: text.contains) {
            let have =
                connection.auth.needsCertificate
                ? "its client certificate" : "the connection (no client certificate was sent)"
            return GNMIFailure(
                .clientCertificateRejected,
                "\(label) refused \(have) during the TLS handshake; "
                    + (connection.auth.needsCertificate
                        ? "check that the device trusts the CA that issued the agent's client certificate"
                        : "the device requires mutual TLS: use auth certificate or certificate+password")
            )
        }
        let plaintextMarkers = [
            "WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST", "UNKNOWN_PROTOCOL",
            "RECORD_LENGTH_MISMATCH", "UNEXPECTED_RECORD", "DECODE_ERROR",
        ]
        if !trust.presentedCertificate, plaintextMarkers.contains(where: text.contains) {
            return GNMIFailure(
                .plaintextDevice,
                "\(label) answered without TLS (it looks like a plaintext gNMI server); enable TLS on the device — "
                    + "StreamSwarm never falls back to plaintext"
            )
        }
        if !trust.presentedCertificate, text.contains("SSL") || text.contains("HANDSHAKE") || text.contains("EOF") {
            return GNMIFailure(
                .plaintextDevice,
                "\(label) closed the connection before completing a TLS handshake (a plaintext gNMI server, or not gNMI "
                    + "at all); enable TLS on the device — StreamSwarm never falls back to plaintext"
            )
        }
        if text.contains("TIMED OUT") || text.contains("TIMEOUT") {
            return GNMIFailure(
                .timeout,
                "\(label) did not answer in time (\(summary(chain))); check routing and firewalls"
            )
        }
        if text.contains("GOAWAY") || text.contains("RST_STREAM") || text.contains("UNEXPECTEDLY CLOSED") {
            return GNMIFailure(.streamEnded, "\(label) closed the stream (\(summary(chain))); redialling")
        }
        let detail = rpcMessage.isEmpty ? summary(chain) : "\(rpcMessage): \(summary(chain))"
        return GNMIFailure(
            .unreachable,
            "\(label) could not be reached (\(detail)); check the address, routing and firewalls"
        )
    }

    /// Every error in the cause chain, described, for matching and for the log.
    static func describeChain(_ error: any Error) -> String {
        var parts: [String] = []
        var current: (any Error)? = error
        var depth = 0
        while let e = current, depth < 8 {
            depth += 1
            if let rpc = e as? RPCError {
                parts.append("\(rpc.code): \(rpc.message)")
                current = rpc.cause
            } else if let runtime = e as? RuntimeError {
                parts.append("\(runtime.code): \(runtime.message)")
                current = runtime.cause
            } else {
                parts.append(String(describing: e))
                current = nil
            }
        }
        return parts.joined(separator: " ← ")
    }

    private static func summary(_ chain: String) -> String {
        chain.count > 300 ? String(chain.prefix(300)) + "…" : chain
    }
}
