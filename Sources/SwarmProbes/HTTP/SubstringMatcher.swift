/// Finds a byte string in a body that arrives in pieces, keeping only the last `needle.count - 1`
/// bytes between pieces, so bodies of any size are matched in constant memory.
struct SubstringMatcher {
    private let needle: [UInt8]
    private var tail: [UInt8] = []
    private(set) var found = false

    init(_ text: String) { needle = Array(text.utf8) }

    mutating func feed(_ piece: some Collection<UInt8>) {
        guard !found, !needle.isEmpty else { return }
        let window = tail + piece
        if window.count >= needle.count {
            for start in 0...(window.count - needle.count) where window[start] == needle[0] {
                if window[start..<start + needle.count].elementsEqual(needle) {
                    found = true
                    tail = []
                    return
                }
            }
        }
        tail = Array(window.suffix(needle.count - 1))
    }
}
