import Glibc

/// Address literals to bytes and back, through inet_pton/inet_ntop so text matches what dig and the
/// kernel print (RFC 5952 for IPv6).
enum IPAddressText {
    /// The 4 or 16 bytes of an IPv4 or IPv6 literal (brackets and a `%scope` suffix allowed), or nil.
    static func parse(_ text: String) -> [UInt8]? {
        var literal = Substring(text)
        if literal.hasPrefix("[") && literal.hasSuffix("]") { literal = literal.dropFirst().dropLast() }
        if let percent = literal.firstIndex(of: "%") { literal = literal[..<percent] }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(literal), &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(literal), &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Text of 4 (IPv4) or 16 (IPv6) address bytes; nil for any other length.
    static func format(_ bytes: [UInt8]) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) != nil
        }
        guard ok else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
