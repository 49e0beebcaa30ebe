// why: the error conforms to SwarmCore's CodedError.
public import SwarmCore

/// Something the collector could not read. Match on `code`; `message` says what and where.
public struct GNMIError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case invalidPath, undecodableValue }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// A gNMI path in the configuration does not parse (the message shows the expected form).
        public static var invalidPath: Self { Self(.invalidPath) }
        /// A TypedValue from a device has no value or holds JSON that does not parse.
        public static var undecodableValue: Self { Self(.undecodableValue) }
        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
