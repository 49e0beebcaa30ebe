/// The subject and issuer of an X.509 certificate (RFC 5280 §4.1), read from its DER and printed as
/// RFC 4514 strings (most specific RDN first, as `openssl x509 -nameopt RFC2253` prints them).
///
/// NIOSSL only names a few attribute types, so the Name is read here; every read is bounds-checked
/// and a malformed certificate gives nil, never a crash.
struct CertificateNames: Hashable, Sendable {
    var subject: String
    var issuer: String

    init?(der: [UInt8]) {
        var reader = DERReader(der[...])
        guard let certificate = reader.read(tag: 0x30), reader.isAtEnd else { return nil }
        var certificateReader = DERReader(certificate)
        guard let tbs = certificateReader.read(tag: 0x30) else { return nil }
        var fields = DERReader(tbs)
        _ = fields.read(tag: 0xA0)  // version, absent in v1 certificates
        guard fields.read(tag: 0x02) != nil,  // serialNumber
            fields.read(tag: 0x30) != nil,  // signature algorithm
            let issuer = fields.read(tag: 0x30),
            fields.read(tag: 0x30) != nil,  // validity
            let subject = fields.read(tag: 0x30),
            let issuerText = Self.render(name: issuer),
            let subjectText = Self.render(name: subject)
        else { return nil }
        self.subject = subjectText
        self.issuer = issuerText
    }

    /// RFC 4514 §2: RDNs in reverse order, joined with ",", multi-valued RDNs with "+".
    private static func render(name: ArraySlice<UInt8>) -> String? {
        var rdns: [String] = []
        var sequence = DERReader(name)
        while !sequence.isAtEnd {
            guard let set = sequence.read(tag: 0x31) else { return nil }
            var attributes: [String] = []
            var setReader = DERReader(set)
            while !setReader.isAtEnd {
                guard let pair = setReader.read(tag: 0x30) else { return nil }
                var pairReader = DERReader(pair)
                guard let oid = pairReader.read(tag: 0x06), let value = pairReader.readAny() else { return nil }
                let key = attributeNames[dotted(oid)] ?? dotted(oid)
                attributes.append("\(key)=\(render(value: value, knownType: attributeNames[dotted(oid)] != nil))")
            }
            rdns.append(attributes.joined(separator: "+"))
        }
        return rdns.reversed().joined(separator: ",")
    }

    private static let attributeNames: [String: String] = [
        "2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
        "2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
        "2.5.4.42": "GN", "0.9.2342.19200300.100.1.1": "UID", "0.9.2342.19200300.100.1.25": "DC",
        "1.2.840.113549.1.9.1": "emailAddress",
    ]

    /// A string value escaped per RFC 4514 §2.4; other types (and unknown attributes) as `#` + DER hex.
    private static func render(value: DERReader.Element, knownType: Bool) -> String {
        let text: String?
        switch value.tag {
        case 0x0C, 0x13, 0x16, 0x1A: text = String(decoding: value.content, as: UTF8.self)
        case 0x14: text = String(value.content.map { Character(UnicodeScalar($0)) })  // T61, read as Latin-1
        case 0x1E: text = utf16BigEndian(value.content)
        default: text = nil
        }
        guard knownType, let text else {
            return "#"
                + value.encoded.map { byte in
                    let hex = String(byte, radix: 16)
                    return byte < 16 ? "0" + hex : hex
                }.joined()
        }
        var escaped = ""
        for (index, character) in text.enumerated() {
            let isFirst = index == 0
            let isLast = index == text.count - 1
            switch character {
            case "\"", "+", ",", ";", "<", ">", "\\":
                escaped += "\\\(character)"
            case "#" where isFirst, " " where isFirst || isLast:
                escaped += "\\\(character)"
            case "\0":
                escaped += "\\00"
            default:
                escaped.append(character)
            }
        }
        return escaped
    }

    private static func utf16BigEndian(_ bytes: ArraySlice<UInt8>) -> String? {
        guard bytes.count % 2 == 0 else { return nil }
        let units = stride(from: bytes.startIndex, to: bytes.endIndex, by: 2).map {
            UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1])
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// Dotted-decimal form of OBJECT IDENTIFIER content (X.690 §8.19).
    private static func dotted(_ content: ArraySlice<UInt8>) -> String {
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        for byte in content {
            // Arcs beyond 64 bits are not real attribute types; saturate rather than trap.
            value = value > UInt64.max >> 7 ? UInt64.max : value << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 {
                arcs.append(value)
                value = 0
            }
        }
        guard let first = arcs.first else { return "" }
        let head: [UInt64] = first < 80 ? [first / 40, first % 40] : [2, first - 80]
        return (head + arcs.dropFirst()).map(String.init).joined(separator: ".")
    }
}

/// A minimal DER TLV reader (X.690 §8.1) for the fields above: single-byte tags, definite lengths.
struct DERReader {
    struct Element {
        var tag: UInt8
        var content: ArraySlice<UInt8>
        /// Tag, length and content as they appeared.
        var encoded: ArraySlice<UInt8>
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { bytes.isEmpty }

    /// The content of the next element when its tag is `tag` (consumed), else nil (not consumed).
    mutating func read(tag: UInt8) -> ArraySlice<UInt8>? {
        var copy = self
        guard let element = copy.readAny(), element.tag == tag else { return nil }
        self = copy
        return element.content
    }

    mutating func readAny() -> Element? {
        guard bytes.count >= 2 else { return nil }
        let start = bytes.startIndex
        let tag = bytes[start]
        // Multi-byte tags (low bits all set) do not occur in the fields read here.
        guard tag & 0x1F != 0x1F else { return nil }
        var index = start + 1
        var length = Int(bytes[index])
        index += 1
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...4).contains(count), bytes.endIndex - index >= count else { return nil }
            length = 0
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard length >= 0, bytes.endIndex - index >= length else { return nil }
        let element = Element(tag: tag, content: bytes[index..<index + length], encoded: bytes[start..<index + length])
        bytes = bytes[(index + length)...]
        return element
    }
}
