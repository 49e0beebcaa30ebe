/// A resource record TYPE (RFC 1035 §3.2.2 and later RFCs), named as dig names it; types without a
/// name print as `TYPE123` (RFC 3597 §5).
struct DNSRecordType: Hashable, Sendable, CustomStringConvertible {
    var rawValue: UInt16

    init(rawValue: UInt16) { self.rawValue = rawValue }

    static let a = DNSRecordType(rawValue: 1)
    static let ns = DNSRecordType(rawValue: 2)
    static let cname = DNSRecordType(rawValue: 5)
    static let soa = DNSRecordType(rawValue: 6)
    static let ptr = DNSRecordType(rawValue: 12)
    static let mx = DNSRecordType(rawValue: 15)
    static let txt = DNSRecordType(rawValue: 16)
    static let aaaa = DNSRecordType(rawValue: 28)
    static let srv = DNSRecordType(rawValue: 33)
    static let opt = DNSRecordType(rawValue: 41)
    static let any = DNSRecordType(rawValue: 255)
    static let caa = DNSRecordType(rawValue: 257)

    private static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV", 41: "OPT",
        255: "ANY", 257: "CAA",
    ]

    /// Parses a mnemonic ("AAAA", any case) or the RFC 3597 form "TYPE65280".
    init?(text: String) {
        let upper = text.uppercased()
        if let entry = Self.names.first(where: { $0.value == upper }) {
            self.init(rawValue: entry.key)
        } else if upper.hasPrefix("TYPE"), let value = UInt16(upper.dropFirst(4)) {
            self.init(rawValue: value)
        } else {
            return nil
        }
    }

    var description: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }
}
