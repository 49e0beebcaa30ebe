/// A domain name as a list of labels (RFC 1035 §3.1), kept as raw bytes so any label a server sends
/// survives a round trip. The root label is implied.
struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// Longest name on the wire, length bytes and the root included (RFC 1035 §2.3.4).
    static let maxWireBytes = 255
    static let maxLabelBytes = 63
    static let root = DNSName(labels: [])

    var labels: [[UInt8]]

    init(labels: [[UInt8]]) { self.labels = labels }

    /// Parses presentation form ("www.example.com", a trailing dot optional, "." for the root),
    /// with the `\.` and `\DDD` escapes dig prints.
    init(parsing text: String) throws(ProbeError) {
        let bytes = Array(text.utf8)
        if bytes.isEmpty || bytes == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        var index = 0
        var endedWithDot = false
        while index < bytes.count {
            let byte = bytes[index]
            endedWithDot = false
            if byte == UInt8(ascii: ".") {
                guard !label.isEmpty else {
                    throw ProbeError(.dnsInvalidName, "\"\(text)\" has an empty label")
                }
                labels.append(label)
                label = []
                endedWithDot = true
                index += 1
            } else if byte == UInt8(ascii: "\\") {
                label.append(try Self.unescape(bytes, at: &index, text: text))
            } else {
                label.append(byte)
                index += 1
            }
        }
        if !endedWithDot { labels.append(label) }
        self.labels = labels
        try validateLengths(text: text)
    }

    /// Bytes this name takes on the wire without compression.
    var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// Equality ignoring ASCII case, as DNS compares names (RFC 4343).
    func matches(_ other: DNSName) -> Bool { lowercased() == other.lowercased() }

    func lowercased() -> DNSName {
        DNSName(labels: labels.map { $0.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 } })
    }

    /// Presentation form with a trailing dot, escaped as dig prints it.
    var description: String {
        if labels.isEmpty { return "." }
        var text = ""
        for label in labels {
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: ";"), UInt8(ascii: "\\"), UInt8(ascii: "("),
                    UInt8(ascii: ")"), UInt8(ascii: "@"), UInt8(ascii: "$"), UInt8(ascii: "\""):
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E:
                    text.append(Character(UnicodeScalar(byte)))
                default:
                    text += Self.decimalEscape(byte)
                }
            }
            text += "."
        }
        return text
    }

    /// The reverse-lookup name of an IPv4 or IPv6 address (in-addr.arpa / ip6.arpa, RFC 1035 §3.5 and
    /// RFC 3596 §2.5), or nil when `address` is not an address literal.
    static func reverseLookupName(for address: String) -> DNSName? {
        guard let bytes = IPAddressText.parse(address) else { return nil }
        if bytes.count == 4 {
            return DNSName(
                labels: bytes.reversed().map { Array(String($0).utf8) } + [Array("in-addr".utf8), Array("arpa".utf8)]
            )
        }
        let hex = Array("0123456789abcdef".utf8)
        var labels: [[UInt8]] = []
        for byte in bytes.reversed() {
            labels.append([hex[Int(byte & 0x0F)]])
            labels.append([hex[Int(byte >> 4)]])
        }
        return DNSName(labels: labels + [Array("ip6".utf8), Array("arpa".utf8)])
    }

    func validateLengths(text: String) throws(ProbeError) {
        if let long = labels.first(where: { $0.count > Self.maxLabelBytes }) {
            throw ProbeError(
                .dnsNameTooLong,
                "\"\(text)\" has a label of \(long.count) bytes; at most \(Self.maxLabelBytes) are allowed"
            )
        }
        if wireLength > Self.maxWireBytes {
            throw ProbeError(
                .dnsNameTooLong,
                "\"\(text)\" is \(wireLength) bytes on the wire; at most \(Self.maxWireBytes) are allowed"
            )
        }
    }

    static func decimalEscape(_ byte: UInt8) -> String {
        let digits = String(byte)
        return "\\" + String(repeating: "0", count: 3 - digits.count) + digits
    }

    private static func unescape(_ bytes: [UInt8], at index: inout Int, text: String) throws(ProbeError) -> UInt8 {
        let digits = bytes.dropFirst(index + 1).prefix(3)
        if digits.count == 3, digits.allSatisfy({ (0x30...0x39).contains($0) }) {
            let value = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard value <= 255 else {
                throw ProbeError(.dnsInvalidName, "\"\(text)\" has the escape \\\(value), above \\255")
            }
            index += 4
            return UInt8(value)
        }
        guard index + 1 < bytes.count else {
            throw ProbeError(.dnsInvalidName, "\"\(text)\" ends with a lone backslash")
        }
        index += 2
        return bytes[index - 1]
    }
}
