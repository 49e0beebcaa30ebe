// why: the error conforms to SwarmCore's CodedError.
public import SwarmCore

/// Something a probe or responder could not do. Match on `code`; `message` says what happened and,
/// where there is one, what to do. (A measurement that fails is not an error: it is a result with a
/// status and a reason.)
public struct ProbeError: CodedError {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case cannotBind, unresolvable, tlsSetupFailed, undecodableBody
            case dnsTruncated, dnsPointerLoop, dnsBadLabelType, dnsNameTooLong, dnsBadRecordData, dnsInvalidName
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A responder cannot open, bind or listen on its address.
        public static var cannotBind: Self { Self(.cannotBind) }
        /// A host name has no usable address.
        public static var unresolvable: Self { Self(.unresolvable) }
        /// A TLS context cannot be built (trust store or configuration).
        public static var tlsSetupFailed: Self { Self(.tlsSetupFailed) }
        /// A compressed HTTP body does not decode, or decodes past its limit.
        public static var undecodableBody: Self { Self(.undecodableBody) }
        /// A DNS packet ends before a field it announces.
        public static var dnsTruncated: Self { Self(.dnsTruncated) }
        /// A DNS compression pointer does not point strictly backwards (a loop or a forward pointer).
        public static var dnsPointerLoop: Self { Self(.dnsPointerLoop) }
        /// A DNS label length byte uses the reserved 0x40/0x80 forms.
        public static var dnsBadLabelType: Self { Self(.dnsBadLabelType) }
        /// A DNS name is longer than 255 bytes on the wire, or a label longer than 63.
        public static var dnsNameTooLong: Self { Self(.dnsNameTooLong) }
        /// DNS record data does not have the layout its type requires.
        public static var dnsBadRecordData: Self { Self(.dnsBadRecordData) }
        /// A DNS name given as text cannot be encoded (empty label, bad escape).
        public static var dnsInvalidName: Self { Self(.dnsInvalidName) }

        public var description: String { value.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
