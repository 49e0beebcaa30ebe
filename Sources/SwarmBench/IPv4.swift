/// A dotted-quad IPv4 address that can be counted up (the icmp bench's consecutive targets).
public struct IPv4: Sendable, Hashable {
    public var value: UInt32

    public init?(_ text: String) {
        let parts = text.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 < 256 }) else { return nil }
        value = parts.reduce(0) { $0 << 8 | $1 }
    }

    private init(value: UInt32) { self.value = value }

    public func advanced(by n: Int) -> IPv4 { IPv4(value: value &+ UInt32(n)) }

    public var text: String { [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".") }
}
