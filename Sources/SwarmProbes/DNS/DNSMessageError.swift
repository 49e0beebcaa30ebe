/// A DNS message could not be read or written. `message` names the offset and what was wrong, so
/// a malformed reply from a server can be reported as it is.
struct DNSMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case truncated, pointerLoop, badLabelType, nameTooLong, badRecordData, invalidName
        }
        private var value: Value

        /// The packet ends before a field it announces.
        static let truncated = Code(value: .truncated)
        /// A compression pointer does not point strictly backwards (a loop or a forward pointer).
        static let pointerLoop = Code(value: .pointerLoop)
        /// A label length byte uses the reserved 0x40/0x80 forms.
        static let badLabelType = Code(value: .badLabelType)
        /// A name is longer than 255 bytes on the wire, or a label longer than 63.
        static let nameTooLong = Code(value: .nameTooLong)
        /// Record data does not have the layout its type requires.
        static let badRecordData = Code(value: .badRecordData)
        /// A name given as text cannot be encoded (empty label, bad escape).
        static let invalidName = Code(value: .invalidName)

        var description: String { "\(value)" }
    }

    var code: Code
    var message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { message }
}
