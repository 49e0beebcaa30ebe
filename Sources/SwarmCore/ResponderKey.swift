/// The swarm's shared secret for the UDP echo and bandwidth responders: only holders (the server and
/// its agents, which receive it in Welcome) can use a responder; anyone else's packets are dropped.
public struct ResponderKey: Sendable, Hashable {
    public let bytes: [UInt8]

    /// At least 16 bytes; the server makes 32 random bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count >= 16 else { return nil }
        self.bytes = bytes
    }

    /// From hex text (whitespace ignored), as key files and STREAMSWARM_RESPONDER_KEY hold it.
    public init?(hex: String) {
        let digits = hex.filter { !$0.isWhitespace }
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes: bytes)
    }

    public static func random() -> ResponderKey {
        var generator = SystemRandomNumberGenerator()
        return ResponderKey(uncheckedBytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    private init(uncheckedBytes: [UInt8]) { self.bytes = uncheckedBytes }

    public var hex: String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}
