/// Encodes a ``DNSMessage`` to wire format, compressing owner names and the names inside the RDATA
/// types RFC 3597 §4 allows (NS, CNAME, SOA, PTR, MX); SRV targets are never compressed (RFC 2782).
struct DNSMessageWriter {
    private(set) var bytes: [UInt8] = []
    private var compress: Bool
    /// Where each already-written name suffix starts, keyed case-insensitively.
    private var suffixOffsets: [DNSName: Int] = [:]

    init(compress: Bool = true) { self.compress = compress }

    static func encode(_ message: DNSMessage, compress: Bool = true) throws(ProbeError) -> [UInt8] {
        var writer = DNSMessageWriter(compress: compress)
        try writer.write(message)
        return writer.bytes
    }

    mutating func write(_ message: DNSMessage) throws(ProbeError) {
        guard message.responseCode < 0x1000 else {
            throw ProbeError(.dnsBadRecordData, "response code \(message.responseCode) does not fit in 12 bits")
        }
        guard message.responseCode < 16 || message.edns != nil else {
            throw ProbeError(.dnsBadRecordData, "response code \(message.responseCode) needs an OPT record")
        }
        var flags: UInt16 = 0
        if message.isResponse { flags |= 0x8000 }
        flags |= UInt16(message.opcode & 0x0F) << 11
        if message.authoritative { flags |= 0x0400 }
        if message.truncated { flags |= 0x0200 }
        if message.recursionDesired { flags |= 0x0100 }
        if message.recursionAvailable { flags |= 0x0080 }
        if message.authenticData { flags |= 0x0020 }
        if message.checkingDisabled { flags |= 0x0010 }
        flags |= message.responseCode & 0x0F
        let additionalCount = message.additionals.count + (message.edns == nil ? 0 : 1)
        for count in [message.questions.count, message.answers.count, message.authorities.count, additionalCount]
        where count > Int(UInt16.max) {
            throw ProbeError(.dnsBadRecordData, "a section holds \(count) entries; at most 65535 fit")
        }
        writeUInt16(message.id)
        writeUInt16(flags)
        writeUInt16(UInt16(message.questions.count))
        writeUInt16(UInt16(message.answers.count))
        writeUInt16(UInt16(message.authorities.count))
        writeUInt16(UInt16(additionalCount))
        for question in message.questions {
            try writeName(question.name, compressible: true)
            writeUInt16(question.type.rawValue)
            writeUInt16(question.classCode)
        }
        for record in message.answers + message.authorities + message.additionals {
            try write(record)
        }
        if let edns = message.edns {
            guard edns.options.count <= Int(UInt16.max) else {
                throw ProbeError(.dnsBadRecordData, "EDNS options of \(edns.options.count) bytes do not fit")
            }
            bytes.append(0)
            writeUInt16(DNSRecordType.opt.rawValue)
            writeUInt16(edns.udpPayloadBytes)
            writeUInt32(
                UInt32(message.responseCode >> 4) << 24 | UInt32(edns.version) << 16 | (edns.dnssecOK ? 0x8000 : 0)
            )
            writeUInt16(UInt16(edns.options.count))
            bytes += edns.options
        }
    }

    private mutating func write(_ record: DNSRecord) throws(ProbeError) {
        try writeName(record.name, compressible: true)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.classCode)
        writeUInt32(record.ttl)
        let lengthOffset = bytes.count
        writeUInt16(0)
        switch record.data {
        case .a(let address), .aaaa(let address):
            bytes += address
        case .name(let name):
            try writeName(name, compressible: true)
        case .mx(let preference, let exchange):
            writeUInt16(preference)
            try writeName(exchange, compressible: true)
        case .txt(let strings):
            for string in strings {
                guard string.count <= 255 else {
                    throw ProbeError(.dnsBadRecordData, "a TXT string of \(string.count) bytes exceeds 255")
                }
                bytes.append(UInt8(string.count))
                bytes += string
            }
        case .soa(let soa):
            try writeName(soa.mname, compressible: true)
            try writeName(soa.rname, compressible: true)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { writeUInt32(value) }
        case .srv(let priority, let weight, let port, let target):
            writeUInt16(priority)
            writeUInt16(weight)
            writeUInt16(port)
            try writeName(target, compressible: false)
        case .caa(let flags, let tag, let value):
            guard (1...255).contains(tag.count) else {
                throw ProbeError(.dnsBadRecordData, "a CAA tag of \(tag.count) bytes is outside 1...255")
            }
            bytes.append(flags)
            bytes.append(UInt8(tag.count))
            bytes += tag + value
        case .unknown(let data):
            bytes += data
        }
        let length = bytes.count - lengthOffset - 2
        guard length <= Int(UInt16.max) else {
            throw ProbeError(.dnsBadRecordData, "record data of \(length) bytes exceeds 65535")
        }
        bytes[lengthOffset] = UInt8(length >> 8)
        bytes[lengthOffset + 1] = UInt8(length & 0xFF)
    }

    /// Writes a name, replacing its longest already-written suffix with a pointer (RFC 1035 §4.1.4).
    private mutating func writeName(_ name: DNSName, compressible: Bool) throws(ProbeError) {
        try name.validateLengths(text: name.description)
        for index in name.labels.indices {
            let suffix = DNSName(labels: Array(name.labels[index...])).lowercased()
            if compress && compressible, let offset = suffixOffsets[suffix] {
                writeUInt16(0xC000 | UInt16(offset))
                return
            }
            // Pointers hold 14 bits, so only suffixes in the first 16 KiB can be targets.
            if bytes.count < 0x4000 && suffixOffsets[suffix] == nil { suffixOffsets[suffix] = bytes.count }
            bytes.append(UInt8(name.labels[index].count))
            bytes += name.labels[index]
        }
        bytes.append(0)
    }

    private mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    private mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(value & 0xFFFF))
    }
}
