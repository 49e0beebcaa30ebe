// why: deliveries carry their bodies as Foundation Data.
public import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A webhook receiver on an ephemeral loopback port (or a socket already listening, e.g. in a lab
/// namespace: ``NetLab/listeningSocket(in:)``) that records every POST. It answers
/// `failureStatus` (503) to the first `failingFirst` requests (to exercise retries), then 200.
public final class WebhookReceiver: Sendable {
    public struct Delivery: Sendable {
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: Data
        public var path: String
    }

    public let port: Int
    private let state: Mutex<(deliveries: [Delivery], failuresLeft: Int, requests: Int)>
    private let failureStatus: Int

    private init(port: Int, failingFirst: Int, failureStatus: Int) {
        self.port = port
        self.failureStatus = failureStatus
        state = Mutex(([], failingFirst, 0))
    }

    /// The requests answered 200, in order.
    public var deliveries: [Delivery] { state.withLock { $0.deliveries } }
    /// Every request, the refused ones included.
    public var requests: Int { state.withLock { $0.requests } }
    public var url: String { "http://127.0.0.1:\(port)/hook" }

    public static func with<T: Sendable>(
        failingFirst: Int = 0,
        failureStatus: Int = 503,
        listeningOn socket: Int32? = nil,
        _ body: (WebhookReceiver) async throws -> T
    ) async throws -> T {
        let initializer:
            @Sendable (any Channel) -> EventLoopFuture<
                NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
            > = { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        return try await serving(socket: socket, initializer: initializer) { port in
            WebhookReceiver(port: port, failingFirst: failingFirst, failureStatus: failureStatus)
        } serve: { receiver, connection in
            try? await receiver.serve(connection)
        } body: { receiver in
            try await body(receiver)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = Data()
            for try await part in inbound {
                switch part {
                case .head(let h):
                    head = h
                    body = Data()
                case .body(var chunk):
                    body.append(contentsOf: chunk.readBytes(length: chunk.readableBytes) ?? [])
                case .end:
                    guard let h = head else { continue }
                    let ok = state.withLock { state -> Bool in
                        state.requests += 1
                        if state.failuresLeft > 0 {
                            state.failuresLeft -= 1
                            return false
                        }
                        let headers = Dictionary(h.headers.map { ($0.name.lowercased(), $0.value) }) { a, _ in a }
                        state.deliveries.append(Delivery(headers: headers, body: body, path: h.uri))
                        return true
                    }
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Length", value: "0")
                    let status: HTTPResponseStatus = ok ? .ok : HTTPResponseStatus(statusCode: failureStatus)
                    try await outbound.write(
                        .head(HTTPResponseHead(version: h.version, status: status, headers: headers))
                    )
                    try await outbound.write(.end(nil))
                }
            }
        }
    }
}

/// An SMTP sink on an ephemeral loopback port (or a socket already listening): speaks enough RFC 5321 for one client at a time
/// and records each message. It answers 451 to the first `failingFirst` DATA commands.
public final class SMTPSink: Sendable {
    public struct Message: Sendable {
        public var sender: String
        public var recipients: [String]
        /// The DATA as received (dot-unstuffed, CRLF line ends).
        public var data: String

        /// The value of a header, unfolded.
        public func header(_ name: String) -> String? {
            let prefix = name.lowercased() + ":"
            return data.components(separatedBy: "\r\n").prefix { !$0.isEmpty }
                .first { $0.lowercased().hasPrefix(prefix) }
                .map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
        }

        public var body: String { data.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n") }
    }

    public let port: Int
    private let state: Mutex<(messages: [Message], failuresLeft: Int)>

    private init(port: Int, failingFirst: Int) {
        self.port = port
        state = Mutex(([], failingFirst))
    }

    public var messages: [Message] { state.withLock { $0.messages } }
    public var url: String { "smtp://127.0.0.1:\(port)" }

    public static func with<T: Sendable>(
        failingFirst: Int = 0,
        listeningOn socket: Int32? = nil,
        _ body: (SMTPSink) async throws -> T
    ) async throws -> T {
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = {
            channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        return try await serving(socket: socket, initializer: initializer) { port in
            SMTPSink(port: port, failingFirst: failingFirst)
        } serve: { sink, connection in
            try? await sink.serve(connection)
        } body: { sink in
            try await body(sink)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            func reply(_ line: String) async throws { try await outbound.write(ByteBuffer(string: line + "\r\n")) }
            try await reply("220 sink.test ESMTP ready")
            var pending = ""
            var sender = ""
            var recipients: [String] = []
            var data: [String]?
            for try await var chunk in inbound {
                pending += chunk.readString(length: chunk.readableBytes) ?? ""
                while let end = pending.firstRange(of: "\r\n") {
                    let line = String(pending[..<end.lowerBound])
                    pending.removeSubrange(..<end.upperBound)
                    if var lines = data {
                        if line == "." {
                            let message = Message(
                                sender: sender,
                                recipients: recipients,
                                data: lines.joined(separator: "\r\n")
                            )
                            let accepted = state.withLock { state -> Bool in
                                if state.failuresLeft > 0 {
                                    state.failuresLeft -= 1
                                    return false
                                }
                                state.messages.append(message)
                                return true
                            }
                            data = nil
                            try await reply(accepted ? "250 queued" : "451 try again later")
                        } else {
                            lines.append(line.hasPrefix("..") ? String(line.dropFirst()) : line)
                            data = lines
                        }
                        continue
                    }
                    let command = line.uppercased()
                    if command.hasPrefix("EHLO") || command.hasPrefix("HELO") {
                        try await reply("250-sink.test\r\n250 8BITMIME")
                    } else if command.hasPrefix("MAIL FROM:") {
                        sender = Self.address(line)
                        recipients = []
                        try await reply("250 ok")
                    } else if command.hasPrefix("RCPT TO:") {
                        recipients.append(Self.address(line))
                        try await reply("250 ok")
                    } else if command == "DATA" {
                        data = []
                        try await reply("354 end with <CRLF>.<CRLF>")
                    } else if command == "QUIT" {
                        try await reply("221 bye")
                        return
                    } else {
                        try await reply("502 not implemented")
                    }
                }
            }
        }
    }

    private static func address(_ line: String) -> String {
        guard let open = line.firstIndex(of: "<"), let close = line.lastIndex(of: ">"), open < close else { return "" }
        return String(line[line.index(after: open)..<close])
    }
}

/// Binds `socket` (or an ephemeral loopback port), makes the server object for its port, serves
/// each connection with `serve` while `body` runs, and closes the listener afterwards.
private func serving<Server: Sendable, Connection: Sendable, T: Sendable>(
    socket: Int32?,
    initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Connection>,
    make: (Int) -> Server,
    serve: @escaping @Sendable (Server, Connection) async -> Void,
    body: (Server) async throws -> T
) async throws -> T {
    let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    let listener =
        if let socket {
            try await bootstrap.bind(socket, childChannelInitializer: initializer)
        } else {
            try await bootstrap.bind(host: "127.0.0.1", port: 0, childChannelInitializer: initializer)
        }
    let server = make(listener.channel.localAddress?.port ?? 0)
    let accepting = Task {
        try await listener.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections { group.addTask { await serve(server, connection) } }
            }
        }
    }
    defer { accepting.cancel() }
    let result = try await body(server)
    try? await listener.channel.close()
    return result
}
