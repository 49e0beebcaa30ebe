import Logging
import PostgresNIO

// SettingsStore: small key/value settings.
extension PostgresStore {
    public func setting(_ key: String) async throws -> String? {
        let logger = self.logger
        return try await read("reading a setting") { connection in
            try await connection.rows("SELECT value FROM settings WHERE key = \(key)", logger).first?.decode(
                String.self
            )
        }
    }

    public func setSetting(_ key: String, value: String) async throws {
        try await execute(
            "writing a setting",
            "INSERT INTO settings (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
    }
}
