import Dispatch
import Foundation
import HummingbirdTesting
import Logging
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

@testable import SwarmGateway

/// A plain TCP socket to the gateway, for what an HTTP client library will not do: send half a
/// request, or nothing, and wait. Blocking calls run on Dispatch threads, never the test's.
final class RawSocket: @unchecked Sendable {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw GatewayTestError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    enum ReadResult: Equatable {
        case data(String)
        /// The server closed the connection (EOF or reset).
        case closed
        case timedOut
    }

    /// Reads what arrives within `timeout`: some bytes, the server closing, or nothing.
    func read(timeout: Duration) async -> ReadResult {
        let fd = self.fd
        let milliseconds = Int32(
            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        )
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, milliseconds) > 0 else {
                    continuation.resume(returning: .timedOut)
                    return
                }
                var buffer = [UInt8](repeating: 0, count: 65536)
                let count = recv(fd, &buffer, buffer.count, 0)
                continuation.resume(
                    returning: count <= 0 ? .closed : .data(String(decoding: buffer[0..<count], as: UTF8.self))
                )
            }
        }
    }

    /// Reads until what arrived contains `text`, giving up after `timeout` or when the server
    /// closes; true when it arrived.
    func readUntil(_ text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var received = ""
        while ContinuousClock.now < deadline {
            guard case .data(let more) = await read(timeout: deadline - ContinuousClock.now) else { return false }
            received += more
            if received.contains(text) { return true }
        }
        return false
    }

    /// Reads until the server closes, giving up after `timeout`; true when it closed.
    func closesWithin(_ timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            switch await read(timeout: deadline - ContinuousClock.now) {
            case .closed: return true
            case .timedOut: return false
            case .data: continue
            }
        }
        return false
    }
}

@Suite("Gateway connection limits")
struct ConnectionLimitTests {
    static let request = "GET /api/v1/health HTTP/1.1\r\nHost: test\r\n\r\n"

    @Test("stalled sockets are closed: half a header, a slow body, and a silent keep-alive connection")
    func stalledConnectionsClose() async throws {
        let configure: (inout Gateway.Configuration) throws -> Void = {
            $0.limits.headerTimeout = .milliseconds(400)
            $0.limits.bodyTimeout = .milliseconds(400)
            $0.limits.idleTimeout = .seconds(1)
        }
        try await GatewayHarness.with(configure: configure) { h in
            try await h.app.test(.live) { client in
                let port = try #require(client.port)
                let halfHeader = try RawSocket(port: port)
                halfHeader.send("GET /api/v1/health HTTP/1.1\r\nHost: te")
                let slowBody = try RawSocket(port: port)
                slowBody.send(
                    "POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"us"
                )
                let silent = try RawSocket(port: port)
                let served = try RawSocket(port: port)
                served.send(Self.request)
                guard case .data(let answer) = await served.read(timeout: .seconds(2)) else {
                    Issue.record("a complete request got no answer")
                    return
                }
                #expect(answer.hasPrefix("HTTP/1.1 200"))
                #expect(await halfHeader.closesWithin(.seconds(3)), "a half-sent header kept its connection")
                #expect(await slowBody.closesWithin(.seconds(3)), "an unfinished body kept its connection")
                #expect(await silent.closesWithin(.seconds(4)), "a silent connection was never closed")
                #expect(await served.closesWithin(.seconds(4)), "an idle keep-alive connection was never closed")
            }
        }
    }

    @Test("past the connection cap new connections wait, and are served once one closes")
    func connectionCap() async throws {
        // The real Gateway service: HummingbirdTesting's live mode drops the connection limit.
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(configuration: .init(path: "\(directory)/g.sqlite"), logger: Logger(label: "t"))
            var configuration = Gateway.Configuration(
                host: "127.0.0.1",
                port: 0,
                passwordHasher: PasswordHasher(cost: 4)
            )
            configuration.limits.maxConnections = 3
            let bound = AsyncStream.makeStream(of: Int.self)
            let gateway = Gateway(configuration: configuration, store: store, logger: Logger(label: "t")) {
                bound.continuation.yield($0)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await gateway.run() }
                defer { group.cancelAll() }
                var ports = bound.stream.makeAsyncIterator()
                let port = try #require(await ports.next())
                var held = try (0..<3).map { _ in try RawSocket(port: port) }
                for socket in held {
                    socket.send(Self.request)
                    guard case .data = await socket.read(timeout: .seconds(2)) else {
                        Issue.record("a connection under the cap was not served")
                        return
                    }
                }
                // The kernel completes the handshake; the gateway does not take the connection.
                let waiting = try RawSocket(port: port)
                waiting.send(Self.request)
                #expect(await waiting.read(timeout: .milliseconds(700)) == .timedOut)
                held.removeFirst()  // closes one
                guard case .data(let answer) = await waiting.read(timeout: .seconds(3)) else {
                    Issue.record("the waiting connection was not served after one closed")
                    return
                }
                #expect(answer.hasPrefix("HTTP/1.1 200"))
            }
        }
    }
}
