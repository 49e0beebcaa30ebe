import Foundation

/// A minimal reader of the protobuf wire format: field numbers, varints and length-delimited
/// slices, without building messages.
///
/// The ingest hot path uses it to take each measurement's result bytes as they arrived instead of
/// parsing the whole batch into messages and serializing every result again.
struct ProtoWireScanner {
    enum Value {
        case varint(UInt64)
        case bytes(Range<Int>)
        case fixed
    }

    struct Malformed: Error {}

    private let bytes: UnsafeRawBufferPointer
    private var index: Int
    private let end: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>) {
        self.bytes = bytes
        self.index = range.lowerBound
        self.end = range.upperBound
    }

    /// The next field, or nil at the end.
    mutating func next() throws(Malformed) -> (field: Int, value: Value)? {
        guard index < end else { return nil }
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0 else { throw Malformed() }
        switch key & 7 {
        case 0:
            return (field, .varint(try varint()))
        case 1:
            try skip(8)
            return (field, .fixed)
        case 2:
            let length = try varint()
            guard length <= UInt64(end - index) else { throw Malformed() }
            let start = index
            index += Int(length)
            return (field, .bytes(start..<index))
        case 5:
            try skip(4)
            return (field, .fixed)
        default:
            throw Malformed()  // groups (3, 4) and reserved types are not used by mesh v1
        }
    }

    private mutating func skip(_ count: Int) throws(Malformed) {
        guard end - index >= count else { throw Malformed() }
        index += count
    }

    private mutating func varint() throws(Malformed) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < end, shift < 64 {
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw Malformed()
    }
}
