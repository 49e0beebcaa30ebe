import CSwarmProbes
import Foundation
import Glibc

/// Wi-Fi link facts from the kernel's nl80211 generic-netlink family: each wireless interface's
/// operating frequency and, in station mode, the TX bitrate to its access point (what `iw dev X link`
/// shows). /proc/net/wireless has only the signal level.
///
/// The message codec is pure (bytes in, values out) so it is tested on built messages; ``query()``
/// is the only part that opens a socket.
package enum NL80211 {
    /// What nl80211 says about one wireless interface.
    package struct Link: Sendable, Hashable {
        package var interface: String
        package var isStation: Bool
        package var frequencyMHz: Double?
        package var bitrateMbps: Double?
        package var signalDBm: Double?
        package init(
            interface: String,
            isStation: Bool,
            frequencyMHz: Double? = nil,
            bitrateMbps: Double? = nil,
            signalDBm: Double? = nil
        ) {
            self.interface = interface
            self.isStation = isStation
            self.frequencyMHz = frequencyMHz
            self.bitrateMbps = bitrateMbps
            self.signalDBm = signalDBm
        }
    }

    /// Why nl80211 could not be asked, for the figures' absent reason.
    package struct Unavailable: Error, Sendable, Hashable {
        package var reason: String
        /// The errno the kernel answered with, when it did.
        package var code: Int32?
        package init(_ reason: String, code: Int32? = nil) {
            self.reason = reason
            self.code = code
        }
    }

    // Constants of linux/netlink.h, linux/genetlink.h and linux/nl80211.h (stable kernel ABI).
    static let netlinkGeneric: Int32 = 16
    static let requestFlag: UInt16 = 0x1
    static let dumpFlags: UInt16 = 0x300
    static let messageError: UInt16 = 2
    static let messageDone: UInt16 = 3
    static let controllerFamily: UInt16 = 0x10
    static let getFamilyCommand: UInt8 = 3
    static let familyIDAttribute: UInt16 = 1
    static let familyNameAttribute: UInt16 = 2
    static let getInterfaceCommand: UInt8 = 5
    static let getStationCommand: UInt8 = 17
    static let ifIndexAttribute: UInt16 = 3
    static let ifNameAttribute: UInt16 = 4
    static let ifTypeAttribute: UInt16 = 5
    static let stationIfType: UInt32 = 2
    static let frequencyAttribute: UInt16 = 38
    static let stationInfoAttribute: UInt16 = 21
    static let stationSignal: UInt16 = 7
    static let stationTXBitrate: UInt16 = 8
    static let rateBitrate16: UInt16 = 1
    static let rateBitrate32: UInt16 = 5

    // MARK: - Codec

    /// One netlink message: its type, and its payload after the 16-byte header.
    package struct Message: Sendable, Hashable {
        package var type: UInt16
        package var payload: [UInt8]
    }

    /// A generic-netlink request: netlink header, genl header (command, version 1), attributes.
    package static func request(
        family: UInt16,
        command: UInt8,
        flags: UInt16,
        sequence: UInt32,
        attributes: [(UInt16, [UInt8])]
    ) -> [UInt8] {
        var body: [UInt8] = [command, 1, 0, 0]
        for (type, value) in attributes { body += attribute(type, value) }
        var bytes: [UInt8] = []
        bytes += le(UInt32(16 + body.count))
        bytes += le(family)
        bytes += le(requestFlag | flags)
        bytes += le(sequence)
        bytes += le(UInt32(0))
        return bytes + body
    }

    /// An attribute: length, type, value, padded to 4 bytes.
    package static func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        var bytes = le(UInt16(4 + value.count)) + le(type) + value
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    /// The messages in one datagram; a truncated or malformed header ends the walk.
    package static func messages(_ bytes: [UInt8]) -> [Message] {
        var result: [Message] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(u32(bytes, offset))
            guard length >= 16, offset + length <= bytes.count else { break }
            result.append(
                Message(type: u16(bytes, offset + 4), payload: Array(bytes[(offset + 16)..<(offset + length)]))
            )
            offset += (length + 3) & ~3
        }
        return result
    }

    /// The attributes of a payload from `start`, keyed by type (nested and byte-order flags cleared).
    package static func attributes(_ bytes: [UInt8], from start: Int = 0) -> [UInt16: [UInt8]] {
        var result: [UInt16: [UInt8]] = [:]
        var offset = start
        while offset + 4 <= bytes.count {
            let length = Int(u16(bytes, offset))
            guard length >= 4, offset + length <= bytes.count else { break }
            result[u16(bytes, offset + 2) & 0x3FFF] = Array(bytes[(offset + 4)..<(offset + length)])
            offset += (length + 3) & ~3
        }
        return result
    }

    /// The errno of an NLMSG_ERROR payload (0 is an acknowledgement).
    package static func errorCode(_ payload: [UInt8]) -> Int32 {
        payload.count >= 4 ? -Int32(bitPattern: u32(payload, 0)) : EPROTO
    }

    /// The family id in a CTRL_CMD_GETFAMILY reply.
    package static func familyID(_ message: Message) -> UInt16? {
        attributes(message.payload, from: 4)[familyIDAttribute].flatMap { $0.count >= 2 ? u16($0, 0) : nil }
    }

    /// Interface index, name, station mode and frequency from a GET_INTERFACE reply.
    package static func interface(_ message: Message) -> (index: UInt32, link: Link)? {
        let attrs = attributes(message.payload, from: 4)
        guard let index = attrs[ifIndexAttribute].flatMap({ $0.count >= 4 ? u32($0, 0) : nil }),
            let nameBytes = attrs[ifNameAttribute]
        else { return nil }
        let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
        let type = attrs[ifTypeAttribute].flatMap { $0.count >= 4 ? u32($0, 0) : nil }
        let frequency = attrs[frequencyAttribute].flatMap { $0.count >= 4 ? Double(u32($0, 0)) : nil }
        return (index, Link(interface: name, isStation: type == stationIfType, frequencyMHz: frequency))
    }

    /// TX bitrate (Mbit/s) and signal (dBm) from a GET_STATION reply.
    package static func station(_ message: Message) -> (bitrateMbps: Double?, signalDBm: Double?) {
        guard let info = attributes(message.payload, from: 4)[stationInfoAttribute] else { return (nil, nil) }
        let station = attributes(info)
        let signal = station[stationSignal].flatMap { $0.first.map { Double(Int8(bitPattern: $0)) } }
        guard let rate = station[stationTXBitrate].map({ attributes($0) }) else { return (nil, signal) }
        // Both are in units of 100 kbit/s; the 32-bit form exists for rates above 6.5 Gbit/s.
        if let wide = rate[rateBitrate32], wide.count >= 4 { return (Double(u32(wide, 0)) / 10, signal) }
        if let narrow = rate[rateBitrate16], narrow.count >= 2 { return (Double(u16(narrow, 0)) / 10, signal) }
        return (nil, signal)
    }

    // MARK: - The query

    /// Every wireless interface the kernel knows, with frequency and (in station mode) bitrate.
    package static func query() -> Result<[Link], Unavailable> {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkGeneric)
        guard fd >= 0 else { return .failure(Unavailable("cannot open a generic netlink socket: \(errnoText())")) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sequence: UInt32 = 1

        let name = Array("nl80211".utf8) + [0]
        let replies: [Message]
        switch exchange(
            fd,
            request(
                family: controllerFamily,
                command: getFamilyCommand,
                flags: 0,
                sequence: sequence,
                attributes: [(familyNameAttribute, name)]
            )
        ) {
        case .success(let messages): replies = messages
        case .failure(let failure) where failure.code == ENOENT:
            return .failure(Unavailable("the kernel has no nl80211 family (no cfg80211 driver: no Wi-Fi on this host)"))
        case .failure(let failure): return .failure(failure)
        }
        guard let family = replies.lazy.compactMap(familyID).first else {
            return .failure(Unavailable("the netlink controller's reply named no nl80211 family id"))
        }

        sequence += 1
        let interfaceMessages: [Message]
        switch exchange(
            fd,
            request(family: family, command: getInterfaceCommand, flags: dumpFlags, sequence: sequence, attributes: [])
        ) {
        case .success(let messages): interfaceMessages = messages
        case .failure(let failure): return .failure(failure)
        }
        var links: [Link] = []
        for (index, found) in interfaceMessages.compactMap(interface) {
            var link = found
            if link.isStation {
                sequence += 1
                let stationReply = exchange(
                    fd,
                    request(
                        family: family,
                        command: getStationCommand,
                        flags: dumpFlags,
                        sequence: sequence,
                        attributes: [(ifIndexAttribute, le(index))]
                    )
                )
                if case .success(let stations) = stationReply, let first = stations.first {
                    (link.bitrateMbps, link.signalDBm) = station(first)
                }
            }
            links.append(link)
        }
        return .success(links)
    }

    /// Sends one request and reads replies until NLMSG_DONE (dumps) or the first reply (others).
    static func exchange(_ fd: Int32, _ bytes: [UInt8]) -> Result<[Message], Unavailable> {
        let isDump = u16(bytes, 6) & dumpFlags == dumpFlags
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else { return .failure(Unavailable("netlink send failed: \(errnoText())")) }
        var collected: [Message] = []
        var buffer = [UInt8](repeating: 0, count: 32 << 10)
        // A dump of a few interfaces fits in a handful of datagrams; the bound stops a runaway reply.
        for _ in 0..<256 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(Unavailable("no netlink reply: \(errnoText())"))
            }
            for message in messages(Array(buffer[0..<count])) {
                switch message.type {
                case messageDone:
                    return .success(collected)
                case messageError:
                    let code = errorCode(message.payload)
                    if code == 0 { continue }
                    return .failure(Unavailable(String(cString: strerror(code)), code: code))
                default:
                    collected.append(message)
                    if !isDump { return .success(collected) }
                }
            }
        }
        return .failure(Unavailable("the netlink reply did not end"))
    }

    // MARK: - Bytes

    // Netlink is in host byte order; every Linux target we build for is little-endian.
    static func le(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    static func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
    static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }
    static func errnoText() -> String { String(cString: strerror(errno)) }
}
