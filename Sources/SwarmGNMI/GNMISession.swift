import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
// why: withSession takes the caller's Logger.
public import Logging
// why: the session's RPC results are generated gNMI messages.
public import SwarmCore
public import SwarmGNMIProto
import SwiftProtobuf

/// One TLS connection to one device and the gNMI RPCs a collector makes on it (Capabilities, Get,
/// Subscribe). Credentials go in the `username`/`password` metadata of every RPC when the auth
/// method uses them.
public struct GNMISession: Sendable {
    let client: Gnmi_gNMI.Client<HTTP2ClientTransport.Posix>
    let metadata: Metadata
    let trust: DeviceTrust
    public let connection: GNMIConnection

    /// How long a unary RPC (Capabilities, Get) may take.
    public static let unaryTimeout: Duration = .seconds(15)

    /// Connects, runs `body` with the session, and closes the connection afterwards.
    ///
    /// - Throws: ``GNMIFailure`` naming what went wrong (TLS trust, credentials, reachability…).
    public static func withSession<R: Sendable>(
        _ connection: GNMIConnection,
        keepalive: Duration = .seconds(300),
        logger: Logger,
        _ body: (GNMISession) async throws -> R
    ) async throws(GNMIFailure) -> R {
        let trust = try DeviceTrust(connection)
        let security = try trust.transportSecurity(logger: logger)
        var config = HTTP2ClientTransport.Posix.Config.defaults
        if !connection.serverName.isEmpty { config.http2.authority = connection.serverName }
        // gRPC servers refuse pings more often than every 5 min by default (GOAWAY too_many_pings),
        // so keepalive stays at that; the collector's own quiet-stream watchdog catches silent cuts sooner.
        config.connection.keepalive = .init(time: keepalive, timeout: .seconds(20), allowWithoutCalls: false)
        let target: any ResolvableTarget =
            if IPAddressText.isAddress(connection.address) {
                connection.address.contains(":")
                    ? .ipv6(address: connection.address, port: connection.port)
                    : .ipv4(address: connection.address, port: connection.port)
            } else {
                .dns(host: connection.address, port: connection.port)
            }
        var metadata: Metadata = [:]
        if connection.auth.needsPassword {
            metadata.addString(connection.username, forKey: "username")
            metadata.addString(connection.password, forKey: "password")
        }
        do {
            let transport = try HTTP2ClientTransport.Posix(
                target: target,
                transportSecurity: security,
                config: config
            )
            return try await withGRPCClient(transport: transport) { client in
                let session = GNMISession(
                    client: Gnmi_gNMI.Client(wrapping: client),
                    metadata: metadata,
                    trust: trust,
                    connection: connection
                )
                return try await body(session)
            }
        } catch {
            throw GNMIErrorClassifier.classify(error, trust: trust, connection: connection)
        }
    }

    var callOptions: CallOptions {
        var options = CallOptions.defaults
        // Fail at once when the device is unreachable instead of waiting for it to come back.
        options.waitForReady = false
        return options
    }

    public func capabilities() async throws -> Gnmi_CapabilityResponse {
        var options = callOptions
        options.timeout = Self.unaryTimeout
        return try await client.capabilities(Gnmi_CapabilityRequest(), metadata: metadata, options: options)
    }

    public func get(paths: [Gnmi_Path], encoding: Gnmi_Encoding) async throws -> Gnmi_GetResponse {
        var request = Gnmi_GetRequest()
        request.path = paths
        request.encoding = encoding
        request.type = .state
        var options = callOptions
        options.timeout = Self.unaryTimeout
        return try await client.get(request, metadata: metadata, options: options)
    }

    /// Opens a Subscribe RPC with `list` and hands every response to `onResponse` until the device
    /// ends the stream, `onResponse` throws, or the task is cancelled. In POLL mode a poll request
    /// is sent every `pollInterval`. The request side stays open for the whole subscription: some
    /// targets end a subscription when the client half-closes.
    public func subscribe(
        _ list: Gnmi_SubscriptionList,
        pollInterval: Duration? = nil,
        onResponse: @escaping @Sendable (Gnmi_SubscribeResponse) async throws -> Void
    ) async throws {
        let first = Gnmi_SubscribeRequest.with { $0.subscribe = list }
        // gRPC cancels the producer when the response side ends, which ends these sleeps.
        let request = StreamingClientRequest<Gnmi_SubscribeRequest>(metadata: metadata) { writer in
            try await writer.write(first)
            var poll = Gnmi_SubscribeRequest()
            poll.poll = Gnmi_Poll()
            while !Task.isCancelled {
                if let pollInterval {
                    try await Task.sleep(for: pollInterval)
                    try await writer.write(poll)
                } else {
                    try await Task.sleep(for: .seconds(3600))
                }
            }
        }
        try await client.subscribe(request: request, options: callOptions) { response in
            for try await message in response.messages {
                try await onResponse(message)
            }
        }
    }
}
