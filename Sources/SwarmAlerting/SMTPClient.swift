import Foundation
import NIOCore
import NIOPosix

/// Sends one message through an SMTP relay (RFC 5321): EHLO, MAIL FROM, RCPT TO, DATA, QUIT, in
/// plain text, for a relay on the host or the local network (no STARTTLS or AUTH yet).
struct SMTPClient {
    struct Failure: Error, CustomStringConvertible {
        /// 4xx replies and network errors may pass; 5xx replies will not.
        var transient: Bool
        var description: String
    }

    var host: String
    var port: Int
    var heloName: String
    var timeout: Duration = .seconds(30)

    func send(from sender: String, to recipients: [String], message: String) async throws {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure(transient: true, description: "cannot reach SMTP relay \(host):\(port): \(error)")
        }
        let (host, port, heloName) = (self.host, self.port, self.heloName)
        // One limit for the whole dialogue: a relay that stalls anywhere is a transient failure.
        try await withTimeout(timeout) {
            try await channel.executeThenClose { inbound, outbound in
                try await Self.converse(
                    inbound,
                    outbound,
                    relay: "\(host):\(port)",
                    heloName: heloName,
                    sender: sender,
                    recipients: recipients,
                    message: message
                )
            }
        }
    }

    private static func converse(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        relay: String,
        heloName: String,
        sender: String,
        recipients: [String],
        message: String
    ) async throws {
        var replies = ReplyReader(inbound.makeAsyncIterator())
        func expect(_ codes: Set<Int>, after command: String) async throws {
            let reply = try await replies.next()
            guard codes.contains(reply.code) else {
                throw Failure(
                    transient: (400..<500).contains(reply.code),
                    description: "SMTP relay \(relay) answered \(command) with \(reply.code) \(reply.text)"
                )
            }
        }
        func say(_ line: String) async throws {
            try await outbound.write(ByteBuffer(string: line + "\r\n"))
        }
        try await expect([220], after: "the connection")
        try await say("EHLO \(heloName)")
        try await expect([250], after: "EHLO")
        try await say("MAIL FROM:<\(sender)>")
        try await expect([250], after: "MAIL FROM")
        for recipient in recipients {
            try await say("RCPT TO:<\(recipient)>")
            try await expect([250, 251], after: "RCPT TO \(recipient)")
        }
        try await say("DATA")
        try await expect([354], after: "DATA")
        try await outbound.write(ByteBuffer(string: Self.dotStuffed(message) + "\r\n.\r\n"))
        try await expect([250], after: "the message")
        try await say("QUIT")
        _ = try? await replies.next()
    }

    /// CRLF line ends, and a leading dot doubled so no line ends the DATA early (RFC 5321 4.5.2).
    static func dotStuffed(_ message: String) -> String {
        message.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
    }

    /// Reads replies, joining multi-line ones ("250-first", "250 last").
    struct ReplyReader {
        var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        var pending = ""

        init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

        mutating func next() async throws -> (code: Int, text: String) {
            var text: [String] = []
            while true {
                let line = try await nextLine()
                guard line.count >= 3, let code = Int(line.prefix(3)) else {
                    throw Failure(
                        transient: true,
                        description: "the SMTP relay sent a line that is not a reply: \(line)"
                    )
                }
                text.append(String(line.dropFirst(4)))
                if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " {
                    return (code, text.joined(separator: " "))
                }
            }
        }

        private mutating func nextLine() async throws -> String {
            while true {
                if let end = pending.firstRange(of: "\r\n") ?? pending.firstRange(of: "\n") {
                    let line = String(pending[..<end.lowerBound])
                    pending.removeSubrange(..<end.upperBound)
                    return line
                }
                if pending.utf8.count > 64 * 1024 {
                    throw Failure(transient: true, description: "the SMTP relay sent a line over 64 KiB")
                }
                guard var buffer = try await iterator.next() else {
                    throw Failure(transient: true, description: "the SMTP relay closed the connection")
                }
                pending += buffer.readString(length: buffer.readableBytes) ?? ""
            }
        }
    }
}

/// Runs `body`, failing with a transient ``SMTPClient/Failure`` when it takes longer than `limit`.
func withTimeout<T: Sendable>(
    _ limit: Duration,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw SMTPClient.Failure(transient: true, description: "no answer within \(limit)")
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
