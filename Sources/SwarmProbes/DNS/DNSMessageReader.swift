/// Decodes wire-format DNS messages. Every read is bounds-checked, and compression pointers must
/// point strictly before the labels that led to them, so hostile input ends in a
/// ``ProbeError``, never a crash or a loop.
struct DNSMessageReader {
    private let bytes: [UInt8]
    private var offset = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func decode(_ bytes: [UInt8]) throws(ProbeError) -> DNSMessage {
        var reader = DNSMessageReader(bytes)
        return try reader.readMessage()
    }

    private mutating func readMessage() throws(ProbeError) -> DNSMessage {
        var message = DNSMessage()
        message.id = try readUInt16("header")
        let flags = try readUInt16("header")
        message.isResponse = flags & 0x8000 != 0
        message.opcode = UInt8((flags >> 11) & 0x0F)
        message.authoritative = flags & 0x0400 != 0
        message.truncated = flags & 0x0200 != 0
        message.recursionDesired = flags & 0x0100 != 0
        message.recursionAvailable = flags & 0x0080 != 0
        message.authenticData = flags & 0x0020 != 0
        message.checkingDisabled = flags & 0x0010 != 0
        message.responseCode = flags & 0x0F
        let questionCount = try readUInt16("header")
        let answerCount = try readUInt16("header")
        let authorityCount = try readUInt16("header")
        let additionalCount = try readUInt16("header")
        for _ in 0..<questionCount {
            let name = try readName()
            let type = DNSRecordType(rawValue: try readUInt16("question"))
            message.questions.append(DNSQuestion(name: name, type: type, classCode: try readUInt16("question")))
        }
        for _ in 0..<answerCount { message.answers.append(try readRecord().record) }
        for _ in 0..<authorityCount { message.authorities.append(try readRecord().record) }
        for _ in 0..<additionalCount {
            let (record, rawTTL) = try readRecord()
            guard record.type == .opt else {
                message.additionals.append(record)
                continue
            }
            guard case .unknown(let options) = record.data else { continue }
            message.edns = EDNS(
                udpPayloadBytes: record.classCode,
                version: UInt8((rawTTL >> 16) & 0xFF),
                dnssecOK: rawTTL & 0x8000 != 0,
                options: options
            )
            message.responseCode |= UInt16(rawTTL >> 24) << 4
        }
        return message
    }

    private mutating func readRecord() throws(ProbeError) -> (record: DNSRecord, rawTTL: UInt32) {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16("record of \(name)"))
        let classCode = try readUInt16("record of \(name)")
        let ttl = try readUInt32("record of \(name)")
        let length = Int(try readUInt16("record of \(name)"))
        let start = offset
        guard start + length <= bytes.count else {
            throw truncated("the \(type) data of \(name)", needed: length, at: start)
        }
        let data = try readData(type: type, owner: name, end: start + length)
        guard offset == start + length else {
            throw ProbeError(
                .dnsBadRecordData,
                "the \(type) record of \(name) declares \(length) bytes of data but its fields take \(offset - start)"
            )
        }
        // TTLs with the top bit set are treated as 0 (RFC 2181 §8); OPT keeps its raw flags field.
        let reportedTTL = type != .opt && ttl & 0x8000_0000 != 0 ? 0 : ttl
        return (DNSRecord(name: name, type: type, classCode: classCode, ttl: reportedTTL, data: data), ttl)
    }

    private mutating func readData(
        type: DNSRecordType,
        owner: DNSName,
        end: Int
    ) throws(ProbeError) -> DNSRecordData {
        let what = "the \(type) data of \(owner)"
        switch type {
        case .a, .aaaa:
            let size = type == .a ? 4 : 16
            guard end - offset == size else {
                throw ProbeError(.dnsBadRecordData, "\(what) is \(end - offset) bytes; \(type) data is \(size)")
            }
            return type == .a ? .a(try readBytes(size, what)) : .aaaa(try readBytes(size, what))
        case .ns, .cname, .ptr:
            return .name(try readName(within: end))
        case .mx:
            return .mx(preference: try readUInt16(what), exchange: try readName(within: end))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let length = Int(try readUInt8(what))
                guard offset + length <= end else { throw truncated(what, needed: length, at: offset) }
                strings.append(try readBytes(length, what))
            }
            return .txt(strings)
        case .soa:
            let mname = try readName(within: end)
            let rname = try readName(within: end)
            var numbers: [UInt32] = []
            for _ in 0..<5 { numbers.append(try readUInt32(what)) }
            return .soa(
                DNSStartOfAuthority(
                    mname: mname,
                    rname: rname,
                    serial: numbers[0],
                    refresh: numbers[1],
                    retry: numbers[2],
                    expire: numbers[3],
                    minimum: numbers[4]
                )
            )
        case .srv:
            let priority = try readUInt16(what)
            let weight = try readUInt16(what)
            let port = try readUInt16(what)
            return .srv(priority: priority, weight: weight, port: port, target: try readName(within: end))
        case .caa:
            let flags = try readUInt8(what)
            let tagLength = Int(try readUInt8(what))
            guard tagLength > 0, offset + tagLength <= end else {
                throw ProbeError(.dnsBadRecordData, "\(what) has a tag length of \(tagLength) that does not fit")
            }
            let tag = try readBytes(tagLength, what)
            return .caa(flags: flags, tag: tag, value: try readBytes(end - offset, what))
        default:
            return .unknown(try readBytes(end - offset, what))
        }
    }

    /// Reads a possibly compressed name at the cursor and moves past it.
    private mutating func readName(within end: Int? = nil) throws(ProbeError) -> DNSName {
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        // Start of the labels read since the last jump: a pointer must land strictly before it.
        var runStart = offset
        var resumeAt: Int?
        while true {
            guard position < bytes.count else { throw truncated("a name", needed: 1, at: position) }
            let length = Int(bytes[position])
            switch length >> 6 {
            case 0:
                if length == 0 {
                    offset = resumeAt ?? position + 1
                    if let end, offset > end {
                        throw ProbeError(.dnsBadRecordData, "a name at offset \(runStart) runs past its record data")
                    }
                    return DNSName(labels: labels)
                }
                guard position + 1 + length <= bytes.count else {
                    throw truncated("a label", needed: length, at: position + 1)
                }
                wireLength += 1 + length
                guard wireLength <= DNSName.maxWireBytes else {
                    throw ProbeError(
                        .dnsNameTooLong,
                        "a name at offset \(offset) exceeds \(DNSName.maxWireBytes) bytes on the wire"
                    )
                }
                labels.append(Array(bytes[position + 1..<position + 1 + length]))
                position += 1 + length
            case 3:
                guard position + 1 < bytes.count else {
                    throw truncated("a compression pointer", needed: 2, at: position)
                }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < runStart else {
                    throw ProbeError(
                        .dnsPointerLoop,
                        "the compression pointer at offset \(position) points to \(target), which is not before "
                            + "the labels that lead to it (a pointer loop)"
                    )
                }
                if resumeAt == nil { resumeAt = position + 2 }
                position = target
                runStart = target
            default:
                throw ProbeError(
                    .dnsBadLabelType,
                    "the label at offset \(position) starts with 0x\(String(length, radix: 16)), a reserved label type"
                )
            }
        }
    }

    private mutating func readUInt8(_ what: String) throws(ProbeError) -> UInt8 {
        guard offset < bytes.count else { throw truncated(what, needed: 1, at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func readUInt16(_ what: String) throws(ProbeError) -> UInt16 {
        guard offset + 2 <= bytes.count else { throw truncated(what, needed: 2, at: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    private mutating func readUInt32(_ what: String) throws(ProbeError) -> UInt32 {
        UInt32(try readUInt16(what)) << 16 | UInt32(try readUInt16(what))
    }

    private mutating func readBytes(_ count: Int, _ what: String) throws(ProbeError) -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else { throw truncated(what, needed: count, at: offset) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    private func truncated(_ what: String, needed: Int, at position: Int) -> ProbeError {
        ProbeError(
            .dnsTruncated,
            "the message ends inside \(what): \(needed) bytes needed at offset \(position), "
                + "but the message has \(bytes.count)"
        )
    }
}
