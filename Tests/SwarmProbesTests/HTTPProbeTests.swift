import Foundation
import NIOCore
import NIOPosix
import SwarmCore
import Testing

@testable import SwarmProbes

/// The http probe against real servers on 127.0.0.1 (busybox httpd, openssl s_server, small NIO
/// servers for chunked and compressed bodies), compared with `curl -w`.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/busybox"), "needs busybox (httpd)"))
struct HTTPProbeTests {
    static let index = "hello world, the quick brown fox\n"

    // MARK: - Fixtures

    /// A site with a file, a pre-compressed file (busybox serves big.txt.gz for gzip clients) and a
    /// directory (busybox redirects /sub to /sub/).
    static func withBusybox<T>(_ body: (Int, URL) async throws -> T) async throws -> T {
        try await LoopbackFixtures.withTemporaryDirectory { root in
            try Data(index.utf8).write(to: root.appendingPathComponent("index.html"))
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("sub"),
                withIntermediateDirectories: true
            )
            try Data("sub page\n".utf8).write(to: root.appendingPathComponent("sub/index.html"))
            try Data(HTTPProbePartsTests.text).write(to: root.appendingPathComponent("big.txt"))
            try LoopbackFixtures.run("/bin/gzip", ["-k", "-n", root.appendingPathComponent("big.txt").path])
            return try await LoopbackFixtures.withServer("/bin/busybox") { port in
                ["httpd", "-f", "-p", "127.0.0.1:\(port)", "-h", root.path]
            } _: { port in
                try await body(port, root)
            }
        }
    }

    /// openssl s_server -WWW over a fresh self-signed certificate valid for `days`.
    static func withTLSServer<T>(
        days: Int = 30,
        extra: [String] = [],
        _ body: (Int) async throws -> T
    ) async throws -> T {
        try await LoopbackFixtures.withTemporaryDirectory { root in
            try TLSFixture.makeCertificate(in: root, days: days)
            try Data(index.utf8).write(to: root.appendingPathComponent("index.html"))
            return try await LoopbackFixtures.withServer("/usr/bin/openssl", directory: root) { port in
                ["s_server", "-WWW", "-quiet", "-accept", "127.0.0.1:\(port)", "-cert", "cert.pem", "-key", "key.pem"]
                    + extra
            } _: { port in
                try await body(port)
            }
        }
    }

    static func spec(
        _ url: String,
        timeout: Duration = .seconds(5),
        _ configure: (inout TestSpec.HTTPOptions) -> Void = { _ in }
    ) -> TestSpec {
        var spec = TestSpec(
            name: "http",
            probes: [.http],
            target: TestSpec.Target(url: url),
            schedule: TestSpec.Schedule(timeout: timeout)
        )
        configure(&spec.options.http)
        return spec
    }

    static func probe(_ spec: TestSpec) async -> (ProbeObservation, HTTPProbeResult) {
        let observation = await HTTPProbe().run(ProbeContext(testID: TestID(1), revision: 1, spec: spec))
        guard case .http(let result) = observation.result else { return (observation, HTTPProbeResult()) }
        return (observation, result)
    }

    /// `curl -w` figures for the same URL: status, body bytes and times in seconds.
    struct Curl {
        var status: Int
        var bytes: UInt64
        var connect: Double
        var firstByte: Double
        var total: Double
    }

    static func curl(_ url: String, _ extra: [String] = []) throws -> Curl {
        let output = try LoopbackFixtures.run(
            "/usr/bin/curl",
            [
                "-s", "-o", "/dev/null", "-w",
                "%{http_code} %{size_download} %{time_connect} %{time_starttransfer} %{time_total}",
            ]
                + extra + [url]
        )
        let fields = output.split(separator: " ").map(String.init)
        return Curl(
            status: Int(fields[0]) ?? -1,
            bytes: UInt64(fields[1]) ?? 0,
            connect: Double(fields[2]) ?? -1,
            firstByte: Double(fields[3]) ?? -1,
            total: Double(fields[4]) ?? -1
        )
    }

    /// The phases are disjoint stretches of the run, so they add up to no more than the total.
    static func expectConsistentPhases(_ phases: HTTPPhases, tls: Bool) {
        #expect(phases.dns == nil, "an address literal needs no lookup")
        let connect = phases.connect ?? .zero
        let firstByte = phases.firstByte ?? .zero
        #expect(phases.connect != nil && phases.firstByte != nil && phases.transfer != nil)
        #expect((phases.tls != nil) == tls)
        #expect(connect > .zero && firstByte > .zero)
        #expect(connect + (phases.tls ?? .zero) + firstByte + (phases.transfer ?? .zero) <= phases.total)
    }

    // MARK: - Plain HTTP against busybox

    @Test("a file: status, size and phase order agree with curl", .timeLimit(.minutes(1)))
    func fileMatchesCurl() async throws {
        try await Self.withBusybox { port, _ in
            let url = "http://127.0.0.1:\(port)/index.html"
            let (observation, result) = await Self.probe(Self.spec(url) { $0.expectSubstring = "quick brown" })
            let reference = try Self.curl(url)
            #expect(observation.status == .ok, "\(observation.reason)")
            #expect(result.statusCode == reference.status)
            #expect(result.bytes == reference.bytes)
            #expect(result.bytes == UInt64(Self.index.utf8.count))
            #expect(result.httpVersion == "HTTP/1.1")
            #expect(result.bodyMatched == true)
            #expect(result.contentEncoding.isEmpty && result.decodedBytes == result.bytes)
            #expect(result.tlsVersion.isEmpty && result.certificateDaysToExpiry == nil)
            Self.expectConsistentPhases(result.phases, tls: false)
            // curl's times are cumulative from the start; both runs are loopback with the same server.
            #expect(reference.connect <= reference.firstByte && reference.firstByte <= reference.total)
            #expect(abs(result.phases.total.seconds - reference.total) < 0.25)
        }
    }

    @Test("a 404 fails with the status line and URL in the reason", .timeLimit(.minutes(1)))
    func notFound() async throws {
        try await Self.withBusybox { port, _ in
            let url = "http://127.0.0.1:\(port)/nope"
            let (observation, result) = await Self.probe(Self.spec(url))
            #expect(observation.status == .failed)
            #expect(observation.reason == "http 404 Not Found from \(url)")
            let reference = try Self.curl(url)
            #expect(result.statusCode == reference.status)
        }
    }

    @Test("a redirect is reported, followed, or stopped at the limit", .timeLimit(.minutes(1)))
    func redirects() async throws {
        try await Self.withBusybox { port, _ in
            let url = "http://127.0.0.1:\(port)/sub"
            let (notFollowed, first) = await Self.probe(Self.spec(url))
            #expect(notFollowed.status == .ok)
            #expect(first.statusCode == 302 && first.redirects == 0)

            let (followed, final) = await Self.probe(Self.spec(url) { $0.followRedirects = true })
            let reference = try Self.curl(url, ["-L"])
            #expect(followed.status == .ok, "\(followed.reason)")
            #expect(final.statusCode == 200 && final.statusCode == reference.status)
            #expect(final.redirects == 1)
            #expect(final.url == "http://127.0.0.1:\(port)/sub/")
            #expect(final.bytes == reference.bytes)

            let (limited, _) = await Self.probe(
                Self.spec(url) {
                    $0.followRedirects = true
                    $0.maxRedirects = 0
                }
            )
            #expect(limited.status == .failed)
            #expect(limited.reason.contains("the limit is maxRedirects 0"))
        }
    }

    @Test("a gzip body reports compressed and decoded sizes and matches decoded text", .timeLimit(.minutes(1)))
    func gzipFromBusybox() async throws {
        try await Self.withBusybox { port, root in
            let url = "http://127.0.0.1:\(port)/big.txt"
            let (observation, result) = await Self.probe(
                Self.spec(url) { $0.expectSubstring = "dolor sit amet\nlorem" }
            )
            let reference = try Self.curl(url, ["-H", "Accept-Encoding: gzip, deflate"])
            let gzipSize = try FileManager.default.attributesOfItem(
                atPath: root.appendingPathComponent("big.txt.gz").path
            )[.size]
            #expect(observation.status == .ok, "\(observation.reason)")
            #expect(result.contentEncoding == "gzip")
            #expect(result.bytes == reference.bytes)
            #expect(result.compressedBytes == (gzipSize as? UInt64))
            #expect(result.decodedBytes == UInt64(HTTPProbePartsTests.text.count))
            #expect(result.bodyMatched == true)

            let (missing, _) = await Self.probe(Self.spec(url) { $0.expectSubstring = "not in the body" })
            #expect(missing.status == .failed)
            #expect(missing.reason == "http \(url): the body does not contain \"not in the body\"")
        }
    }

    @Test("HEAD gets the status without a body", .timeLimit(.minutes(1)))
    func head() async throws {
        try await Self.withBusybox { port, _ in
            let url = "http://127.0.0.1:\(port)/index.html"
            let (observation, result) = await Self.probe(Self.spec(url) { $0.method = "HEAD" })
            #expect(observation.status == .ok, "\(observation.reason)")
            #expect(result.statusCode == 200 && result.bytes == 0)
        }
    }

    @Test("a closed port is a refused connection", .timeLimit(.minutes(1)))
    func refused() async throws {
        let port = try LoopbackFixtures.freePort()
        let (observation, result) = await Self.probe(Self.spec("http://127.0.0.1:\(port)/"))
        #expect(observation.status == .failed)
        #expect(observation.reason == "http http://127.0.0.1:\(port)/: connect failed: connection refused")
        #expect(result.phases.connect == nil)
    }

    // MARK: - Hand-made servers

    @Test(
        "chunked bodies in gzip and both deflate forms decode",
        .timeLimit(.minutes(1)),
        arguments: ["gzip", "deflate-zlib", "deflate-raw"]
    )
    func chunkedCompressed(variant: String) async throws {
        let (gzip, raw, zlib) = try HTTPProbePartsTests.compressed()
        let body = variant == "gzip" ? gzip : variant == "deflate-zlib" ? zlib : raw
        let encoding = variant == "gzip" ? "gzip" : "deflate"
        try await RawHTTPServer.with(head: "HTTP/1.1 200 OK\r\nContent-Encoding: \(encoding)", chunkedBody: body) {
            port in
            let url = "http://127.0.0.1:\(port)/"
            let (observation, result) = await Self.probe(Self.spec(url) { $0.expectSubstring = "ipsum dolor" })
            #expect(observation.status == .ok, "\(observation.reason)")
            #expect(result.contentEncoding == encoding)
            #expect(result.compressedBytes == UInt64(body.count) && result.bytes == UInt64(body.count))
            #expect(result.decodedBytes == UInt64(HTTPProbePartsTests.text.count))
            #expect(result.bodyMatched == true)
            let reference = try Self.curl(url)
            #expect(reference.bytes == result.bytes)
        }
    }

    @Test("a corrupt gzip body fails with a reason", .timeLimit(.minutes(1)))
    func corruptGzip() async throws {
        var (gzip, _, _) = try HTTPProbePartsTests.compressed()
        gzip[30] ^= 0xFF
        gzip[31] ^= 0xFF
        try await RawHTTPServer.with(head: "HTTP/1.1 200 OK\r\nContent-Encoding: gzip", chunkedBody: gzip) { port in
            let (observation, _) = await Self.probe(Self.spec("http://127.0.0.1:\(port)/"))
            #expect(observation.status == .failed)
            #expect(observation.reason.contains("the gzip body is corrupt"))
        }
    }

    @Test("a server that never answers times out waiting for the first byte", .timeLimit(.minutes(1)))
    func silentServer() async throws {
        try await RawHTTPServer.with(head: nil, chunkedBody: []) { port in
            let (observation, result) = await Self.probe(
                Self.spec("http://127.0.0.1:\(port)/", timeout: .milliseconds(300))
            )
            #expect(observation.status == .timeout)
            #expect(
                observation.reason
                    == "http http://127.0.0.1:\(port)/: no complete response waiting for the first response byte"
            )
            #expect(result.phases.connect != nil && result.phases.firstByte == nil)
        }
    }

    // MARK: - HTTPS against openssl s_server

    @Test("a self-signed certificate fails verification with a reason and is still reported", .timeLimit(.minutes(1)))
    func verificationFails() async throws {
        try await Self.withTLSServer { port in
            let url = "https://127.0.0.1:\(port)/index.html"
            let (observation, result) = await Self.probe(Self.spec(url))
            #expect(observation.status == .failed)
            #expect(
                observation.reason
                    == "http \(url): certificate verify failed: self-signed certificate CN=localhost,O=StreamSwarm Lab "
                    + "is not in the agent's trust store"
            )
            #expect(result.certificateSubject == "CN=localhost,O=StreamSwarm Lab")
            #expect(result.statusCode == 0)
        }
    }

    @Test("insecureSkipVerify connects and reports TLS version, cipher and certificate", .timeLimit(.minutes(1)))
    func insecureSucceeds() async throws {
        try await Self.withTLSServer(days: 30) { port in
            let url = "https://127.0.0.1:\(port)/index.html"
            let (observation, result) = await Self.probe(Self.spec(url) { $0.insecureSkipVerify = true })
            let reference = try Self.curl(url, ["-k"])
            #expect(observation.status == .ok, "\(observation.reason)")
            #expect(result.statusCode == reference.status && result.bytes == reference.bytes)
            #expect(result.httpVersion == "HTTP/1.0")
            #expect(result.tlsVersion == "TLSv1.3")
            #expect(result.cipher.hasPrefix("TLS_") && !result.cipher.contains("WITH"))
            #expect(result.certificateSubject == "CN=localhost,O=StreamSwarm Lab")
            #expect(result.certificateIssuer == result.certificateSubject)
            let days = try #require(result.certificateDaysToExpiry)
            #expect(days > 29.9 && days <= 30.0)
            Self.expectConsistentPhases(result.phases, tls: true)
            #expect(abs(result.phases.total.seconds - reference.total) < 0.25)
        }
    }

    @Test("a TLS 1.2 server reports TLSv1.2 and an ECDHE suite", .timeLimit(.minutes(1)))
    func tls12() async throws {
        try await Self.withTLSServer(extra: ["-tls1_2"]) { port in
            let (observation, result) = await Self.probe(
                Self.spec("https://127.0.0.1:\(port)/index.html") { $0.insecureSkipVerify = true }
            )
            #expect(observation.status == .ok, "\(observation.reason)")
            #expect(result.tlsVersion == "TLSv1.2")
            #expect(result.cipher.hasPrefix("TLS_ECDHE_ECDSA_WITH_"))
        }
    }
}

/// A one-response HTTP server on NIO: it reads the request head, then writes `head` and the body in
/// chunked encoding, 100 bytes per chunk, and closes. With a nil head it never answers.
enum RawHTTPServer {
    static func with<T>(head: String?, chunkedBody: [UInt8], _ body: (Int) async throws -> T) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Responder(head: head, body: chunkedBody))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let port = try #require(channel.localAddress?.port)
            let result = try await body(port)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let head: String?
        private let body: [UInt8]
        private var request: [UInt8] = []
        private var answered = false

        init(head: String?, body: [UInt8]) {
            self.head = head
            self.body = body
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            request += unwrapInboundIn(data).readableBytesView
            guard let head, !answered, request.windowContains(Array("\r\n\r\n".utf8)) else { return }
            answered = true
            var response = Array("\(head)\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            var offset = 0
            while offset < body.count {
                let piece = body[offset..<min(offset + 100, body.count)]
                response += Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10]
                offset += piece.count
            }
            response += Array("0\r\n\r\n".utf8)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(bytes: response))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}
