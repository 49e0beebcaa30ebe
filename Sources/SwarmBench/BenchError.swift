// why: the error conforms to SwarmCore's CodedError.
public import SwarmCore

/// A benchmark could not be set up or run. Match on `code`; `message` says what happened and what
/// to do (the CLI shows it as a usage error).
public struct BenchError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case toolMissing, invalidArgument, noFreePort, processFailed, timedOut, badOutput }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// A program the benchmark drives (wrk, swarm-gnmi-target) is not installed or not built.
        public static var toolMissing: Self { Self(.toolMissing) }
        public static var invalidArgument: Self { Self(.invalidArgument) }
        public static var noFreePort: Self { Self(.noFreePort) }
        /// A process the benchmark started exited early.
        public static var processFailed: Self { Self(.processFailed) }
        public static var timedOut: Self { Self(.timedOut) }
        /// A process the benchmark reads printed something it cannot parse.
        public static var badOutput: Self { Self(.badOutput) }
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
