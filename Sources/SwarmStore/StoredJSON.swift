import Foundation

/// How backends store structured values in a text column (a spec, host facts, a list of names):
/// JSON with sorted keys, so equal values are equal text; a value that does not decode is
/// ``StoreError/Code/corrupt``.
public enum StoredJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from json: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(json.utf8))
        } catch {
            throw StoreError(code: .corrupt, message: "stored \(type) does not decode", cause: error)
        }
    }
}
