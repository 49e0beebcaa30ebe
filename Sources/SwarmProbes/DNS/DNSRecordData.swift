/// The RDATA of the record types the probe reports (RFC 1035 §3.3, RFC 3596, RFC 2782, RFC 8659),
/// and the opaque bytes of any other type (RFC 3597).
enum DNSRecordData: Hashable, Sendable {
    case a([UInt8])
    case aaaa([UInt8])
    /// CNAME, NS and PTR: a single domain name.
    case name(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case txt([[UInt8]])
    case soa(DNSStartOfAuthority)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case caa(flags: UInt8, tag: [UInt8], value: [UInt8])
    case unknown([UInt8])

    /// The data as dig prints it in an answer line.
    var presentation: String {
        switch self {
        case .a(let bytes), .aaaa(let bytes):
            return IPAddressText.format(bytes) ?? Self.unknownPresentation(bytes)
        case .name(let name):
            return name.description
        case .mx(let preference, let exchange):
            return "\(preference) \(exchange)"
        case .txt(let strings):
            return strings.map(Self.quoted).joined(separator: " ")
        case .soa(let soa):
            return "\(soa.mname) \(soa.rname) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .srv(let priority, let weight, let port, let target):
            return "\(priority) \(weight) \(port) \(target)"
        case .caa(let flags, let tag, let value):
            return "\(flags) \(String(decoding: tag, as: UTF8.self)) \(Self.quoted(value))"
        case .unknown(let bytes):
            return Self.unknownPresentation(bytes)
        }
    }

    /// A character-string in quotes, with `"` and `\` escaped and non-printable bytes as `\DDD`.
    static func quoted(_ bytes: [UInt8]) -> String {
        var text = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                text += "\\" + String(UnicodeScalar(byte))
            case 0x20...0x7E:
                text.append(Character(UnicodeScalar(byte)))
            default:
                text += DNSName.decimalEscape(byte)
            }
        }
        return text + "\""
    }

    /// RFC 3597 §5: `\# length hex`.
    static func unknownPresentation(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return bytes.isEmpty ? "\\# 0" : "\\# \(bytes.count) \(String(decoding: hex, as: UTF8.self))"
    }
}

/// SOA RDATA (RFC 1035 §3.3.13).
struct DNSStartOfAuthority: Hashable, Sendable {
    var mname: DNSName
    var rname: DNSName
    var serial: UInt32
    var refresh: UInt32
    var retry: UInt32
    var expire: UInt32
    var minimum: UInt32
}
