import ArgumentParser
import Foundation
import SwarmCore

/// Where command-line tools find the responder key: a file (hex text), else STREAMSWARM_RESPONDER_KEY.
enum ResponderKeyOptions {
    static func load(file: String?) throws -> ResponderKey? {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--key-file \(file) cannot be read")
            }
            guard let key = ResponderKey(hex: text) else {
                throw ValidationError("--key-file \(file) does not hold a hex key of at least 16 bytes")
            }
            return key
        }
        if let text = ProcessInfo.processInfo.environment["STREAMSWARM_RESPONDER_KEY"] {
            guard let key = ResponderKey(hex: text) else {
                throw ValidationError("STREAMSWARM_RESPONDER_KEY does not hold a hex key of at least 16 bytes")
            }
            return key
        }
        return nil
    }
}
