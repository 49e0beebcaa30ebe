/// Reads what a passive observer of a TLS connection can see (RFC 8446 §5.1, RFC 5246 §6.2): the
/// cipher suite the server picked in its ServerHello, which is sent in clear in TLS 1.2 and 1.3,
/// and the first application_data record the client sends, which marks the end of its handshake.
///
/// NIOSSL reports the TLS version but not the negotiated cipher, so the probe takes it from the wire.
struct TLSRecordWatcher {
    private static let handshakeRecord: UInt8 = 22
    private static let applicationDataRecord: UInt8 = 23
    private static let serverHello: UInt8 = 2
    /// ServerHello comes first; more handshake bytes than this without one means it is not TLS.
    private static let inboundLimitBytes = 32 * 1024

    /// The cipher suite code point from the ServerHello, once seen.
    private(set) var cipherSuite: UInt16?
    /// True once the client has sent an application_data record.
    private(set) var sawClientApplicationData = false

    private var inboundRecords: [UInt8] = []
    private var handshakeBytes: [UInt8] = []
    private var inboundDone = false
    private var outboundHeader: [UInt8] = []
    private var outboundRecordLeft = 0

    /// Feeds bytes received from the server.
    mutating func inbound(_ bytes: some Collection<UInt8>) {
        guard !inboundDone else { return }
        inboundRecords += bytes
        while inboundRecords.count >= 5 {
            let length = Int(inboundRecords[3]) << 8 | Int(inboundRecords[4])
            guard inboundRecords.count >= 5 + length else { break }
            let type = inboundRecords[0]
            if type == Self.handshakeRecord {
                handshakeBytes += inboundRecords[5..<5 + length]
            } else if type != 20 {
                // Anything but handshake or change_cipher_spec before a ServerHello: stop looking.
                inboundDone = true
                break
            }
            inboundRecords.removeFirst(5 + length)
            if let suite = Self.cipherSuite(inServerHello: handshakeBytes) {
                cipherSuite = suite
                inboundDone = true
                break
            }
        }
        if handshakeBytes.count + inboundRecords.count > Self.inboundLimitBytes { inboundDone = true }
        if inboundDone {
            inboundRecords = []
            handshakeBytes = []
        }
    }

    /// Feeds bytes the client sends, in order; returns true when they hold the client's first
    /// application_data record.
    mutating func outbound(_ bytes: some Collection<UInt8>) -> Bool {
        guard !sawClientApplicationData else { return false }
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if outboundRecordLeft > 0 {
                let skip = min(outboundRecordLeft, bytes.distance(from: index, to: bytes.endIndex))
                index = bytes.index(index, offsetBy: skip)
                outboundRecordLeft -= skip
                continue
            }
            outboundHeader.append(bytes[index])
            index = bytes.index(after: index)
            if outboundHeader.count == 5 {
                if outboundHeader[0] == Self.applicationDataRecord {
                    sawClientApplicationData = true
                    return true
                }
                outboundRecordLeft = Int(outboundHeader[3]) << 8 | Int(outboundHeader[4])
                outboundHeader = []
            }
        }
        return false
    }

    /// The cipher_suite field of a complete ServerHello at the start of `handshake`, else nil.
    static func cipherSuite(inServerHello handshake: [UInt8]) -> UInt16? {
        // type(1) length(3) legacy_version(2) random(32) session_id_length(1)
        guard handshake.count >= 39, handshake[0] == serverHello else { return nil }
        let length = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
        guard handshake.count >= 4 + length else { return nil }
        let sessionIDLength = Int(handshake[38])
        let suiteOffset = 39 + sessionIDLength
        guard suiteOffset + 2 <= 4 + length else { return nil }
        return UInt16(handshake[suiteOffset]) << 8 | UInt16(handshake[suiteOffset + 1])
    }
}
