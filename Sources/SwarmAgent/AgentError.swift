// why: the error conforms to SwarmCore's CodedError.
public import SwarmCore

/// Something the agent could not do. Match on `code`; `message` says what happened and what to do.
public struct AgentError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case sessionFailed, spoolUnavailable }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// A mesh session ended in failure (refused, broken protocol, server silent); the agent reconnects.
        public static var sessionFailed: Self { Self(.sessionFailed) }
        /// The spool file cannot be opened or written (path, permissions, disk).
        public static var spoolUnavailable: Self { Self(.spoolUnavailable) }
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

    public var description: String { message }
}
