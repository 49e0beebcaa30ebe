import Foundation
import Testing

@testable import SwarmProbes

/// The http probe's pure parts: URL handling, body decoding and matching, TLS record watching and
/// certificate names.
@Suite struct HTTPProbePartsTests {
    static let text = Array(String(repeating: "lorem ipsum dolor sit amet\n", count: 400).utf8)

    /// `text` compressed by gzip(1), and the same deflate stream raw and zlib-wrapped.
    static func compressed() throws -> (gzip: [UInt8], raw: [UInt8], zlib: [UInt8]) {
        try LoopbackFixtures.withTemporaryDirectorySync { directory in
            let file = directory.appendingPathComponent("body.txt")
            try Data(text).write(to: file)
            let gzip = try LoopbackFixtures.runBytes("/bin/gzip", ["-c", "-n", file.path])
            // gzip -n: a 10-byte header without a name, then raw deflate, then CRC32 and size.
            let raw = Array(gzip[10..<(gzip.count - 8)])
            var a: UInt32 = 1
            var b: UInt32 = 0
            for byte in text {
                a = (a + UInt32(byte)) % 65_521
                b = (b + a) % 65_521
            }
            let adler = b << 16 | a
            let zlib =
                [0x78, 0x9C] + raw + [
                    UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF),
                ]
            return (gzip, raw, zlib)
        }
    }

    // MARK: - Targets

    @Test(
        "URLs parse into scheme, host, port and request target",
        arguments: [
            ("http://127.0.0.1:8080/a/b?x=1", false, "127.0.0.1", 8080, "/a/b?x=1", "127.0.0.1:8080"),
            ("https://example.test", true, "example.test", 443, "/", "example.test"),
            ("HTTP://[::1]:81/", false, "::1", 81, "/", "[::1]:81"),
            ("https://[2001:db8::1]/x", true, "2001:db8::1", 443, "/x", "[2001:db8::1]"),
        ]
    )
    func targets(url: String, isTLS: Bool, host: String, port: Int, requestTarget: String, hostHeader: String) throws {
        let target = try #require(HTTPTarget.parse(url))
        #expect(target.isTLS == isTLS)
        #expect(target.host == host)
        #expect(target.port == port)
        #expect(target.requestTarget == requestTarget)
        #expect(target.hostHeader == hostHeader)
    }

    @Test("non-http URLs are refused and Location headers resolve against the request")
    func targetEdges() throws {
        #expect(HTTPTarget.parse("ftp://example.test/") == nil)
        #expect(HTTPTarget.parse("not a url") == nil)
        let base = try #require(HTTPTarget.parse("http://127.0.0.1:8080/dir/page?q"))
        #expect(base.resolving(location: "/sub/")?.description == "http://127.0.0.1:8080/sub/")
        #expect(base.resolving(location: "other")?.description == "http://127.0.0.1:8080/dir/other")
        #expect(base.resolving(location: "https://example.test/x")?.description == "https://example.test/x")
    }

    // MARK: - Body

    @Test("the expected text is found across every split point")
    func matcherAcrossPieces() {
        let body = Array("the quick brown fox jumps".utf8)
        for split in 0...body.count {
            var matcher = SubstringMatcher("brown fox")
            matcher.feed(body[..<split])
            matcher.feed(body[split...])
            #expect(matcher.found, "split at \(split)")
        }
        var absent = SubstringMatcher("brown cat")
        absent.feed(body)
        #expect(!absent.found)
    }

    @Test("gzip, zlib and raw deflate bodies decode in pieces of any size", arguments: [1, 7, 100, 1 << 20])
    func inflateInPieces(pieceSize: Int) throws {
        let (gzip, raw, zlib) = try Self.compressed()
        for (encoding, body) in [("gzip", gzip), ("deflate", zlib), ("deflate", raw)] {
            let inflater = BodyInflater(encoding: encoding)
            var decoded: [UInt8] = []
            var offset = 0
            while offset < body.count {
                let end = min(offset + pieceSize, body.count)
                try inflater.feed(body[offset..<end]) { decoded += $0 }
                offset = end
            }
            #expect(decoded == Self.text, "\(encoding), \(body.count) bytes")
            #expect(inflater.finished)
            #expect(inflater.decodedBytes == UInt64(Self.text.count))
        }
    }

    @Test("corrupt data and bodies past the limit are decoding errors")
    func inflateErrors() throws {
        let (gzip, _, _) = try Self.compressed()
        var corrupt = gzip
        corrupt[20] ^= 0xFF
        corrupt[21] ^= 0xFF
        #expect(throws: ProbeError.self) { try BodyInflater(encoding: "gzip").feed(corrupt) { _ in } }
        #expect(throws: ProbeError.self) { try BodyInflater(encoding: "gzip").feed([1, 2, 3, 4]) { _ in } }
        let limited = BodyInflater(encoding: "gzip", limitBytes: 1000)
        let error = #expect(throws: ProbeError.self) { try limited.feed(gzip) { _ in } }
        #expect(error?.code == .undecodableBody)
        #expect(error?.message.contains("more than 1000 bytes") == true)
    }

    // MARK: - TLS

    @Test("the cipher suite is read from a ServerHello however the bytes arrive", arguments: [1, 3, 64])
    func serverHello(pieceSize: Int) {
        // Handshake header, legacy version, random, a 32-byte session id, cipher 0x1302, compression 0.
        var hello: [UInt8] =
            [0x03, 0x03] + Array(repeating: 0xAB, count: 32) + [32] + Array(repeating: 0x11, count: 32)
        hello += [0x13, 0x02, 0x00]
        let handshake: [UInt8] = [2, 0, 0, UInt8(hello.count)] + hello
        // A change_cipher_spec record first, then the ServerHello record.
        let wire: [UInt8] = [20, 3, 3, 0, 1, 1] + [22, 3, 3, 0, UInt8(handshake.count)] + handshake
        var watcher = TLSRecordWatcher()
        var offset = 0
        while offset < wire.count {
            #expect(watcher.cipherSuite == nil)
            watcher.inbound(wire[offset..<min(offset + pieceSize, wire.count)])
            offset += pieceSize
        }
        #expect(watcher.cipherSuite == 0x1302)
        #expect(TLSCipherSuiteName.name(of: 0x1302) == "TLS_AES_256_GCM_SHA384")
        #expect(TLSCipherSuiteName.name(of: 0xFEFE) == "0xFEFE")
    }

    @Test("the client's first application_data record is spotted past handshake records")
    func clientApplicationData() {
        var watcher = TLSRecordWatcher()
        // ClientHello record (type 22, 4 bytes of body), then change_cipher_spec, then application data.
        let sawHello = watcher.outbound([22, 3, 1, 0, 4, 1, 2, 3])
        let sawChangeCipherSpec = watcher.outbound([4, 20, 3, 3, 0, 1, 1])
        let sawApplicationData = watcher.outbound([23, 3, 3, 0, 2, 9, 9])
        #expect(!sawHello && !sawChangeCipherSpec && sawApplicationData)
        #expect(watcher.sawClientApplicationData)
    }

    @Test("certificate names print as openssl prints them in RFC 2253 form")
    func certificateNames() throws {
        try LoopbackFixtures.withTemporaryDirectorySync { directory in
            let subject = #"/C=NZ/O=StreamSwarm Lab, Ltd/OU=Probes\+Tests/CN=localhost"#
            try TLSFixture.makeCertificate(in: directory, subject: subject, days: 30)
            let der = try LoopbackFixtures.runBytes(
                "/usr/bin/openssl",
                ["x509", "-in", directory.appendingPathComponent("cert.pem").path, "-outform", "DER"]
            )
            let expected = try LoopbackFixtures.run(
                "/usr/bin/openssl",
                [
                    "x509", "-in", directory.appendingPathComponent("cert.pem").path, "-noout", "-subject", "-nameopt",
                    "RFC2253",
                ]
            )
            let names = try #require(CertificateNames(der: der))
            #expect("subject=" + names.subject + "\n" == expected)
            #expect(names.subject == #"CN=localhost,OU=Probes\+Tests,O=StreamSwarm Lab\, Ltd,C=NZ"#)
            #expect(names.issuer == names.subject)
            #expect(CertificateNames(der: Array(der.dropLast())) == nil)
            #expect(CertificateNames(der: [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)
        }
    }
}

/// Throwaway TLS material made with the openssl CLI (never committed, never read from certs/).
enum TLSFixture {
    /// Writes a self-signed P-256 certificate (cert.pem) and key (key.pem) for localhost and 127.0.0.1.
    static func makeCertificate(
        in directory: URL,
        subject: String = "/O=StreamSwarm Lab/CN=localhost",
        days: Int
    ) throws {
        try LoopbackFixtures.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", directory.appendingPathComponent("key.pem").path,
                "-out", directory.appendingPathComponent("cert.pem").path,
                "-days", String(days), "-subj", subject,
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ]
        )
    }
}
