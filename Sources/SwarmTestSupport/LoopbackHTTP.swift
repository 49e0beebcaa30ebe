// why: responses carry their body as Foundation Data.
public import Foundation
import NIOCore
import NIOPosix

/// A minimal HTTP/1.1 client for loopback test peers (chromedriver): one request per connection,
/// `Connection: close`, the response read to EOF. Foundation's URLSession on Linux cannot be relied
/// on here (it fails on some local servers with "Failed writing header").
public enum LoopbackHTTP {
    public struct Response: Sendable {
        public var status: Int
        /// Header lines as sent, names lowercased.
        public var headers: [(name: String, value: String)]
        public var body: Data

        public func header(_ name: String) -> String? {
            headers.first { $0.name == name.lowercased() }?.value
        }
    }

    public static func request(
        port: Int,
        method: String,
        path: String,
        body: Data?,
        headers: [String: String] = [:]
    ) async throws -> Response {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        } else if method == "POST" || method == "DELETE" {
            head += "Content-Length: 0\r\n"
        }
        head += "\r\n"
        var raw = [UInt8]()
        try await channel.executeThenClose { inbound, outbound in
            var request = ByteBuffer(string: head)
            if let body { request.writeBytes(body) }
            try await outbound.write(request)
            // Stop at the end of a Content-Length body: some servers keep the connection open anyway.
            for try await chunk in inbound {
                raw += chunk.readableBytesView
                if isComplete(raw) { break }
            }
        }
        return try parse(raw)
    }

    private static func isComplete(_ raw: [UInt8]) -> Bool {
        guard let split = headerEnd(raw) else { return false }
        let head = String(decoding: raw[..<split], as: UTF8.self).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return false }
        return raw.count - (split + 4) >= length
    }

    private static func headerEnd(_ raw: [UInt8]) -> Int? {
        guard raw.count >= 4 else { return nil }
        return raw.indices.dropLast(3).first {
            raw[$0] == 13 && raw[$0 + 1] == 10 && raw[$0 + 2] == 13 && raw[$0 + 3] == 10
        }
    }

    private static func parse(_ raw: [UInt8]) throws -> Response {
        guard let split = headerEnd(raw) else {
            throw ChildProcessError(description: "malformed HTTP response (\(raw.count) bytes)")
        }
        let head = String(decoding: raw[..<split], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
        var body = Array(raw[(split + 4)...])
        if head.lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
        let headers = head.split(separator: "\r\n").dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers, body: Data(body))
    }

    private static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = bytes[index...].firstIndex(of: 13) else { break }
            let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd + 2
            out += bytes[start..<min(start + size, bytes.count)]
            index = start + size + 2
        }
        return out
    }
}
