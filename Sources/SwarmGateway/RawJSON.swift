import Foundation
import Synchronization

/// JSON produced elsewhere (the proto3 JSON mapping) embedded verbatim in a Codable response.
///
/// Encoding writes a placeholder string with a per-response random nonce; ``JSONResponse`` then
/// splices the bytes in. This keeps the mesh mapping exact and avoids parsing it back into a tree
/// for every agent, test and result in a list.
struct RawJSON: Encodable, Sendable {
    let data: Data

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        guard let splicer = encoder.userInfo[RawJSONSplicer.key] as? RawJSONSplicer else {
            // Without a splicer (another encoder), fall back to a JSON string of the text.
            try container.encode(String(decoding: data, as: UTF8.self))
            return
        }
        try container.encode(splicer.placeholder(for: data))
    }
}

/// Collects raw fragments during one encode and splices them into the output afterwards.
final class RawJSONSplicer: Sendable {
    static let key: CodingUserInfoKey = {
        guard let key = CodingUserInfoKey(rawValue: "swarm.rawJSON") else {
            preconditionFailure("invalid userInfo key")
        }
        return key
    }()
    /// Random per response: text from users cannot forge a placeholder.
    private let nonce = UInt64.random(in: .min ... .max)
    private let fragments = Mutex<[Data]>([])

    func placeholder(for data: Data) -> String {
        let index = fragments.withLock { fragments in
            fragments.append(data)
            return fragments.count - 1
        }
        return "\u{1}raw:\(nonce):\(index)\u{1}"
    }

    /// Replaces each quoted placeholder in `encoded` with its fragment.
    func splice(_ encoded: Data) -> Data {
        let parts = fragments.withLock { $0 }
        guard !parts.isEmpty else { return encoded }
        let prefix = Array("\"\\u0001raw:\(nonce):".utf8)
        let bytes = [UInt8](encoded)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + parts.reduce(0) { $0 + $1.count })
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x22, bytes.count - index >= prefix.count,
                bytes[index..<index + prefix.count].elementsEqual(prefix)
            {
                var end = index + prefix.count
                var number = 0
                while end < bytes.count, bytes[end] >= 0x30, bytes[end] <= 0x39 {
                    number = number * 10 + Int(bytes[end] - 0x30)
                    end += 1
                }
                let suffix = Array("\\u0001\"".utf8)
                if number < parts.count, bytes.count - end >= suffix.count,
                    bytes[end..<end + suffix.count].elementsEqual(suffix)
                {
                    out += parts[number]
                    index = end + suffix.count
                    continue
                }
            }
            out.append(bytes[index])
            index += 1
        }
        return Data(out)
    }
}
