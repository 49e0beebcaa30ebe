import Crypto
// why: key material and sealed blobs are Foundation Data; sealing takes SwarmCore's DeviceSecrets.
public import Foundation
public import SwarmCore

/// Seals device credentials (password, client private key) with AES-256-GCM under a key the
/// operator controls: a file (`--device-key-file`) or the `SWARM_DEVICE_KEY` environment variable,
/// either holding 32 random bytes in base64. A sealed blob names the key it was sealed with, so
/// the wrong key gives a clear error instead of garbage.
public struct DeviceVault: Sendable {
    private let key: SymmetricKey
    /// First 8 bytes of SHA-256 over the key, hex: safe to log and store.
    public let keyID: String

    public static let environmentVariable = "SWARM_DEVICE_KEY"
    /// 2: bound to the device name (associated data); 1: unbound, still read.
    private static let version: UInt8 = 2

    public init(keyBytes: some ContiguousBytes) throws {
        let key = SymmetricKey(data: keyBytes)
        guard key.bitCount == 256 else {
            throw PKIError(
                code: .invalidKey,
                message: "the device key is \(key.bitCount / 8) bytes; it must be 32 random bytes in base64 "
                    + "(make one with: head -c 32 /dev/urandom | base64)"
            )
        }
        self.key = key
        let digest = key.withUnsafeBytes { SHA256.hash(data: Data($0)) }
        keyID = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Parses base64 key text (surrounding whitespace allowed).
    public init(base64 text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: trimmed) else {
            throw PKIError(
                code: .invalidKey,
                message: "the device key is not base64; make one with: head -c 32 /dev/urandom | base64"
            )
        }
        try self.init(keyBytes: bytes)
    }

    /// The key from `path`, else from `SWARM_DEVICE_KEY`; nil when neither is given.
    public static func load(keyFile path: String?, environment: [String: String]) throws -> DeviceVault? {
        if let path {
            try KeyFilePermissions.check(path, what: "device key file")
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw PKIError(code: .unreadableFile, message: "cannot read the device key file \(path)", cause: error)
            }
            return try DeviceVault(base64: text)
        }
        if let text = environment[environmentVariable], !text.isEmpty {
            return try DeviceVault(base64: text)
        }
        return nil
    }

    /// Creates a new random key file readable by its owner only (dev mode, first start).
    public static func createKeyFile(at path: String) throws -> DeviceVault {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let text = bytes.base64EncodedString() + "\n"
        guard
            FileManager.default.createFile(
                atPath: path,
                contents: Data(text.utf8),
                attributes: [.posixPermissions: 0o600]
            )
        else {
            throw PKIError(code: .unreadableFile, message: "cannot create the device key file \(path)")
        }
        return try DeviceVault(keyBytes: bytes)
    }

    /// Seals `secrets` for the device named `device`: the name is the AES-GCM associated data,
    /// so a sealed blob copied onto another device's row does not open there.
    public func seal(_ secrets: DeviceSecrets, for device: String) throws -> Data {
        let plain = try JSONEncoder().encode(secrets)
        let box = try AES.GCM.seal(plain, using: key, authenticating: Self.associatedData(device))
        guard let combined = box.combined else {
            throw PKIError(code: .invalidKey, message: "AES-GCM sealing produced no output")
        }
        var out = Data([Self.version])
        out.append(Data(keyID.utf8))
        out.append(combined)
        return out
    }

    /// Opens what ``seal(_:for:)`` made for `device`. Format 1 (before credentials were bound to
    /// their device) still opens; re-adding such a device binds it.
    public func open(_ sealed: Data, for device: String) throws -> DeviceSecrets {
        let idLength = keyID.utf8.count
        guard sealed.count > 1 + idLength, let format = sealed.first, format == Self.version || format == 1 else {
            throw PKIError(code: .invalidKey, message: "stored device credentials are not in a known sealed format")
        }
        let start = sealed.startIndex
        let sealedID = String(decoding: sealed[(start + 1)..<(start + 1 + idLength)], as: UTF8.self)
        guard sealedID == keyID else {
            throw PKIError(
                code: .invalidKey,
                message:
                    "device credentials were sealed with device key \(sealedID), but this process has key \(keyID): "
                    + "start it with the key the devices were added with"
            )
        }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed[(start + 1 + idLength)...])
            let plain =
                format == 1
                ? try AES.GCM.open(box, using: key)
                : try AES.GCM.open(box, using: key, authenticating: Self.associatedData(device))
            return try JSONDecoder().decode(DeviceSecrets.self, from: plain)
        } catch {
            throw PKIError(
                code: .invalidKey,
                message: "the credentials stored for device \(device) do not open: they were sealed for another "
                    + "device, or are tampered or corrupt; add the device again with its credentials",
                cause: error
            )
        }
    }

    private static func associatedData(_ device: String) -> Data { Data("streamswarm device \(device)".utf8) }
}
