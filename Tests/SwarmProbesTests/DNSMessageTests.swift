import Testing

@testable import SwarmProbes

@Suite struct DNSMessageTests {
    static func name(_ text: String) throws -> DNSName { try DNSName(parsing: text) }

    /// A reply holding one record of every type the probe renders, with names that share suffixes.
    static func sampleReply() throws -> DNSMessage {
        var reply = DNSMessage.query(id: 0xBEEF, name: try name("lab.test"), type: .any, recursionDesired: true)
        reply.isResponse = true
        reply.authoritative = true
        reply.recursionAvailable = true
        let owner = try name("lab.test")
        reply.answers = [
            DNSRecord(name: owner, type: .a, ttl: 300, data: .a([192, 0, 2, 7])),
            DNSRecord(
                name: try name("v6.lab.test"),
                type: .aaaa,
                ttl: 300,
                data: .aaaa([0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [8])
            ),
            DNSRecord(name: try name("alias.lab.test"), type: .cname, ttl: 60, data: .name(try name("v6.lab.test"))),
            DNSRecord(name: owner, type: .ns, ttl: 3600, data: .name(try name("ns1.lab.test"))),
            DNSRecord(name: owner, type: .mx, ttl: 300, data: .mx(preference: 10, exchange: try name("mail.lab.test"))),
            DNSRecord(
                name: owner,
                type: .txt,
                ttl: 300,
                data: .txt([Array("he said \"hi\"".utf8), Array("a\\b".utf8), [7]])
            ),
            DNSRecord(
                name: owner,
                type: .soa,
                ttl: 300,
                data: .soa(
                    DNSStartOfAuthority(
                        mname: try name("ns1.lab.test"),
                        rname: try name("hostmaster.lab.test"),
                        serial: 2_026_112_201,
                        refresh: 7200,
                        retry: 900,
                        expire: 1_209_600,
                        minimum: 300
                    )
                )
            ),
            DNSRecord(
                name: try name("_sip._tcp.lab.test"),
                type: .srv,
                ttl: 300,
                data: .srv(priority: 10, weight: 20, port: 5060, target: try name("sip.lab.test"))
            ),
            DNSRecord(
                name: owner,
                type: .caa,
                ttl: 300,
                data: .caa(flags: 0, tag: Array("issue".utf8), value: Array("letsencrypt.org".utf8))
            ),
            DNSRecord(
                name: try name("8.2.0.192.in-addr.arpa"),
                type: .ptr,
                ttl: 300,
                data: .name(try name("v6.lab.test"))
            ),
            DNSRecord(name: owner, type: DNSRecordType(rawValue: 65280), ttl: 300, data: .unknown([1, 2, 0xFF])),
        ]
        return reply
    }

    // MARK: - Round trips

    @Test("a query encodes with EDNS0 (payload 1232) and decodes to itself")
    func queryRoundTrip() throws {
        let query = DNSMessage.query(id: 4242, name: try Self.name("www.lab.test"), type: .aaaa, recursionDesired: true)
        let wire = try DNSMessageWriter.encode(query)
        // Header 12 + question (14 name + 4) + OPT 11.
        #expect(wire.count == 12 + 18 + 11)
        #expect(Array(wire[0..<4]) == [0x10, 0x92, 0x01, 0x00])
        let decoded = try DNSMessageReader.decode(wire)
        #expect(decoded == query)
        #expect(decoded.edns?.udpPayloadBytes == 1232)
    }

    @Test("a reply with every rendered type round-trips, compressed and not", arguments: [true, false])
    func replyRoundTrip(compress: Bool) throws {
        let reply = try Self.sampleReply()
        let wire = try DNSMessageWriter.encode(reply, compress: compress)
        #expect(try DNSMessageReader.decode(wire) == reply)
    }

    @Test("record data is printed as dig prints it")
    func presentation() throws {
        let lines = try Self.sampleReply().answers.map { "\($0.name) \($0.ttl) \($0.type) \($0.data.presentation)" }
        #expect(
            lines == [
                "lab.test. 300 A 192.0.2.7",
                "v6.lab.test. 300 AAAA 2001:db8::8",
                "alias.lab.test. 60 CNAME v6.lab.test.",
                "lab.test. 3600 NS ns1.lab.test.",
                "lab.test. 300 MX 10 mail.lab.test.",
                #"lab.test. 300 TXT "he said \"hi\"" "a\\b" "\007""#,
                "lab.test. 300 SOA ns1.lab.test. hostmaster.lab.test. 2026112201 7200 900 1209600 300",
                "_sip._tcp.lab.test. 300 SRV 10 20 5060 sip.lab.test.",
                #"lab.test. 300 CAA 0 issue "letsencrypt.org""#,
                "8.2.0.192.in-addr.arpa. 300 PTR v6.lab.test.",
                ##"lab.test. 300 TYPE65280 \# 3 0102FF"##,
            ]
        )
    }

    // MARK: - Compression

    @Test("repeated names become pointers to their first occurrence")
    func compressionPointers() throws {
        let reply = try Self.sampleReply()
        let compressed = try DNSMessageWriter.encode(reply, compress: true)
        let plain = try DNSMessageWriter.encode(reply, compress: false)
        #expect(compressed.count < plain.count)
        // The first answer's owner is the question name at offset 12: a pointer 0xC00C.
        let question = try DNSName(parsing: "lab.test").wireLength + 4
        #expect(Array(compressed[12 + question..<12 + question + 2]) == [0xC0, 0x0C])
        // SRV targets are never compressed (RFC 2782): "sip.lab.test" is spelled out in full.
        #expect(compressed.windowContains([3] + Array("sip".utf8) + [3] + Array("lab".utf8) + [4]))
    }

    @Test("a hand-built reply with a pointer into the question decodes")
    func decodesPointerIntoQuestion() throws {
        // Header: id 1, QR RD RA, 1 question, 1 answer.
        var wire: [UInt8] = [0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]
        wire += [3] + Array("www".utf8) + [3] + Array("lab".utf8) + [4] + Array("test".utf8) + [0]
        wire += [0x00, 0x01, 0x00, 0x01]
        // Answer owner: "mail" + pointer to "lab.test" at offset 16; A 192.0.2.9, TTL 2^31 (read as 0).
        wire += [4] + Array("mail".utf8) + [0xC0, 16]
        wire += [0x00, 0x01, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0x00, 0x04, 192, 0, 2, 9]
        let message = try DNSMessageReader.decode(wire)
        #expect(message.questions.first?.name.description == "www.lab.test.")
        #expect(message.answers.first?.name.description == "mail.lab.test.")
        #expect(message.answers.first?.data.presentation == "192.0.2.9")
        #expect(message.answers.first?.ttl == 0)
        #expect(message.recursionAvailable && message.isResponse && !message.truncated)
    }

    // MARK: - Hostile input

    static let header: [UInt8] = [0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]

    @Test(
        "compression pointer loops and forward pointers are rejected",
        arguments: [
            // A pointer to itself.
            [0xC0, 12],
            // A label, then a pointer back to that label's start: the name would repeat forever.
            [1, UInt8(ascii: "a"), 0xC0, 12],
            // A forward pointer to a pointer that points back.
            [0xC0, 14, 0xC0, 12],
        ] as [[UInt8]]
    )
    func pointerLoops(name: [UInt8]) {
        let error = #expect(throws: ProbeError.self) {
            try DNSMessageReader.decode(Self.header + name + [0, 1, 0, 1])
        }
        #expect(error?.code == .dnsPointerLoop)
    }

    @Test("every truncation of a valid reply is rejected as truncated")
    func truncatedPackets() throws {
        let wire = try DNSMessageWriter.encode(try Self.sampleReply())
        for length in 0..<wire.count {
            let error = #expect(throws: ProbeError.self) { try DNSMessageReader.decode(Array(wire[0..<length])) }
            #expect(error?.code == .dnsTruncated, "cut at \(length) of \(wire.count)")
        }
    }

    @Test("reserved label types and wrong record lengths are rejected")
    func malformedFields() {
        let reserved = #expect(throws: ProbeError.self) {
            try DNSMessageReader.decode(Self.header + [0x41, 0, 0, 1, 0, 1])
        }
        #expect(reserved?.code == .dnsBadLabelType)

        // An A record whose RDLENGTH says 5.
        var wire: [UInt8] = [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]
        wire += [0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 5, 192, 0, 2, 1, 9]
        let badLength = #expect(throws: ProbeError.self) { try DNSMessageReader.decode(wire) }
        #expect(badLength?.code == .dnsBadRecordData)
        #expect(badLength?.message == "the A data of . is 5 bytes; A data is 4")
    }

    @Test("a name longer than 255 bytes is rejected")
    func longNames() {
        var name: [UInt8] = []
        for _ in 0..<5 { name += [63] + Array(repeating: UInt8(ascii: "x"), count: 63) }
        let error = #expect(throws: ProbeError.self) {
            try DNSMessageReader.decode(Self.header + name + [0, 0, 1, 0, 1])
        }
        #expect(error?.code == .dnsNameTooLong)
    }

    @Test("random bytes never crash the decoder")
    func randomInput() throws {
        var generator = SplitMix64(seed: 0x5EED)
        let valid = try DNSMessageWriter.encode(try Self.sampleReply())
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round.isMultiple(of: 2) {
                // Valid reply with random bytes flipped: reaches deep into the parser.
                bytes = valid
                for _ in 0..<4 {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            } else {
                bytes = (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            }
            _ = try? DNSMessageReader.decode(bytes)
        }
    }

    // MARK: - Names, types, codes, servers

    @Test("names parse from text with escapes and print back")
    func namesFromText() throws {
        #expect(try DNSName(parsing: "www.Lab.test").description == "www.Lab.test.")
        #expect(try DNSName(parsing: "www.lab.test.").matches(DNSName(parsing: "WWW.LAB.TEST")))
        #expect(try DNSName(parsing: ".") == .root)
        #expect(try DNSName(parsing: #"a\.b.test"#).labels.count == 2)
        #expect(try DNSName(parsing: #"a\.b.test"#).description == #"a\.b.test."#)
        #expect(try DNSName(parsing: #"x\032y.test"#).description == #"x\032y.test."#)
        #expect(throws: ProbeError.self) { try DNSName(parsing: "a..b") }
        #expect(throws: ProbeError.self) { try DNSName(parsing: String(repeating: "x", count: 64) + ".test") }
    }

    @Test("reverse lookup names for IPv4 and IPv6 (dig -x)")
    func reverseNames() {
        #expect(DNSName.reverseLookupName(for: "192.0.2.8")?.description == "8.2.0.192.in-addr.arpa.")
        #expect(
            DNSName.reverseLookupName(for: "2001:db8::1")?.description
                == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
        )
        #expect(DNSName.reverseLookupName(for: "www.lab.test") == nil)
    }

    @Test("record types parse from mnemonics and RFC 3597 names")
    func recordTypes() {
        #expect(DNSRecordType(text: "aaaa") == .aaaa)
        #expect(DNSRecordType(text: "TYPE65280")?.description == "TYPE65280")
        #expect(DNSRecordType(text: "CAA")?.rawValue == 257)
        #expect(DNSRecordType(text: "BOGUS") == nil)
    }

    @Test("extended response codes travel in the OPT record")
    func extendedResponseCode() throws {
        var reply = DNSMessage.query(id: 7, name: try Self.name("lab.test"), type: .a, recursionDesired: false)
        reply.isResponse = true
        reply.responseCode = 16
        let decoded = try DNSMessageReader.decode(try DNSMessageWriter.encode(reply))
        #expect(decoded.responseCode == 16)
        #expect(DNSMessage.responseCodeText(decoded.responseCode) == "BADVERS")
        #expect(DNSMessage.responseCodeText(3) == "NXDOMAIN")
        #expect(DNSMessage.responseCodeText(23) == "RCODE23")
    }

    @Test("a reply matches its query only with the same id and question")
    func replyMatching() throws {
        let query = DNSMessage.query(id: 9, name: try Self.name("www.lab.test"), type: .a, recursionDesired: true)
        var reply = query
        reply.isResponse = true
        reply.questions[0].name = try Self.name("WWW.lab.TEST")
        #expect(reply.isReply(to: query))
        var wrongID = reply
        wrongID.id = 10
        #expect(!wrongID.isReply(to: query))
        var wrongType = reply
        wrongType.questions[0].type = .aaaa
        #expect(!wrongType.isReply(to: query))
        #expect(!query.isReply(to: query))
    }

    @Test(
        "server options parse as host, host:port and [v6]:port",
        arguments: [
            ("127.0.0.1", "127.0.0.1", 53),
            ("127.0.0.1:5353", "127.0.0.1", 5353),
            ("[::1]:5353", "::1", 5353),
            ("[::1]", "::1", 53),
            ("2001:db8::53", "2001:db8::53", 53),
            ("dns.lab.test:54", "dns.lab.test", 54),
        ]
    )
    func serverAddresses(text: String, host: String, port: Int) {
        #expect(DNSServerAddress.parse(text) == DNSServerAddress(host: host, port: port))
    }

    @Test("bad server options and resolv.conf without a nameserver give nil")
    func badServers() {
        #expect(DNSServerAddress.parse("") == nil)
        #expect(DNSServerAddress.parse("host:0") == nil)
        #expect(DNSServerAddress.parse("[::1]:x") == nil)
        #expect(DNSServerAddress.firstNameserver(inResolvConf: "# none\nsearch lab.test\n") == nil)
        #expect(
            DNSServerAddress.firstNameserver(inResolvConf: "search x\nnameserver\t10.0.0.2\nnameserver 10.0.0.3\n")
                == DNSServerAddress(host: "10.0.0.2", port: 53)
        )
    }
}

/// A small seeded generator so the random-input test is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    func windowContains(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
