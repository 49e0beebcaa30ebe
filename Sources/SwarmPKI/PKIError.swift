// why: the error conforms to SwarmCore's CodedError.
public import SwarmCore

/// A certificate, key or TLS setting could not be used. Match on `code`.
public struct PKIError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case unreadableFile, invalidCertificate, invalidKey, missingIdentity, inconsistentIdentity, revoked,
                wrongALPN, noPeerCertificate, issuance
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        public static var unreadableFile: Self { Self(.unreadableFile) }
        public static var invalidCertificate: Self { Self(.invalidCertificate) }
        public static var invalidKey: Self { Self(.invalidKey) }
        /// The peer certificate has no agent name (no CN, or no `streamswarm://agent/<name>` URI SAN).
        public static var missingIdentity: Self { Self(.missingIdentity) }
        /// The CN and the URI SAN name different agents.
        public static var inconsistentIdentity: Self { Self(.inconsistentIdentity) }
        public static var revoked: Self { Self(.revoked) }
        public static var wrongALPN: Self { Self(.wrongALPN) }
        public static var noPeerCertificate: Self { Self(.noPeerCertificate) }
        public static var issuance: Self { Self(.issuance) }
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
