// why: the error conforms to SwarmCore's CodedError.
public import SwarmCore

/// A store operation failed. Match on `code`; `message` says what happened and what to do.
public struct StoreError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case notFound, invalidInput, conflict, unavailable, migration, corrupt }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public static var notFound: Self { Self(.notFound) }
        public static var invalidInput: Self { Self(.invalidInput) }
        public static var conflict: Self { Self(.conflict) }
        /// The database cannot be opened or written (disk full, locked, permissions).
        public static var unavailable: Self { Self(.unavailable) }
        public static var migration: Self { Self(.migration) }
        public static var corrupt: Self { Self(.corrupt) }
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
