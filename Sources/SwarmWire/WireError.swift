// why: the error conforms to SwarmCore's CodedError.
public import SwarmCore

/// A frame or message broke the mesh protocol. Match on `code`.
///
/// Messages say what happened and what to do, with the limit and the actual value.
public struct WireError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case frameTooLarge, unknownFlags, compressionUnsupported, truncatedFrame, malformedPayload,
                unexpectedMessage, invalidField, emptyFrame
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public static var frameTooLarge: Self { Self(.frameTooLarge) }
        public static var unknownFlags: Self { Self(.unknownFlags) }
        public static var compressionUnsupported: Self { Self(.compressionUnsupported) }
        public static var truncatedFrame: Self { Self(.truncatedFrame) }
        public static var malformedPayload: Self { Self(.malformedPayload) }
        public static var unexpectedMessage: Self { Self(.unexpectedMessage) }
        public static var invalidField: Self { Self(.invalidField) }
        /// A frame with no message in its `body` oneof (or one this version does not know).
        public static var emptyFrame: Self { Self(.emptyFrame) }
        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(code): \(message)" }
}
