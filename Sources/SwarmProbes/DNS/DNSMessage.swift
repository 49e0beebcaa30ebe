/// A DNS message (RFC 1035 §4.1): header, question and the three record sections, with the EDNS0
/// OPT pseudo-record (RFC 6891) held apart from the additional records.
///
/// Encoding is in `DNSMessageWriter`, decoding in `DNSMessageReader`; decoding is bounds-checked and
/// throws ``ProbeError`` for any malformed input.
struct DNSMessage: Hashable, Sendable {
    var id: UInt16 = 0
    var isResponse = false
    var opcode: UInt8 = 0
    var authoritative = false
    var truncated = false
    var recursionDesired = false
    var recursionAvailable = false
    var authenticData = false
    var checkingDisabled = false
    /// The full response code: the header's 4 bits plus, with EDNS, the OPT record's upper 8 bits.
    var responseCode: UInt16 = 0
    var questions: [DNSQuestion] = []
    var answers: [DNSRecord] = []
    var authorities: [DNSRecord] = []
    /// Additional records other than OPT.
    var additionals: [DNSRecord] = []
    var edns: EDNS?

    /// Payload size the probe advertises: the DNS Flag Day 2020 value, which avoids IP fragmentation.
    static let advertisedUDPPayloadBytes: UInt16 = 1232

    /// A standard query for one name and type, class IN, with EDNS0 unless `udpPayloadBytes` is nil.
    static func query(
        id: UInt16,
        name: DNSName,
        type: DNSRecordType,
        recursionDesired: Bool,
        udpPayloadBytes: UInt16? = advertisedUDPPayloadBytes
    ) -> DNSMessage {
        var message = DNSMessage()
        message.id = id
        message.recursionDesired = recursionDesired
        message.questions = [DNSQuestion(name: name, type: type)]
        message.edns = udpPayloadBytes.map { EDNS(udpPayloadBytes: $0) }
        return message
    }

    /// True when this is a reply to `query`: same id, a response, and the same question (names
    /// compared without case).
    func isReply(to query: DNSMessage) -> Bool {
        guard isResponse, id == query.id, questions.count == query.questions.count else { return false }
        return zip(questions, query.questions).allSatisfy {
            $0.type == $1.type && $0.classCode == $1.classCode && $0.name.matches($1.name)
        }
    }

    /// The mnemonic of a response code (RFC 1035 §4.1.1, RFC 2136, RFC 6891), or `RCODE<n>`.
    static func responseCodeText(_ code: UInt16) -> String {
        switch code {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 7: "YXRRSET"
        case 8: "NXRRSET"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        case 16: "BADVERS"
        default: "RCODE\(code)"
        }
    }
}

struct DNSQuestion: Hashable, Sendable {
    var name: DNSName
    var type: DNSRecordType
    /// IN unless set otherwise.
    var classCode: UInt16 = 1
}

struct DNSRecord: Hashable, Sendable {
    var name: DNSName
    var type: DNSRecordType
    var classCode: UInt16 = 1
    var ttl: UInt32
    var data: DNSRecordData
}

/// The EDNS0 OPT pseudo-record's fields (RFC 6891 §6.1.3).
struct EDNS: Hashable, Sendable {
    var udpPayloadBytes: UInt16
    var version: UInt8 = 0
    var dnssecOK = false
    /// The OPT RDATA (options), kept undecoded.
    var options: [UInt8] = []
}
