import HTTPTypes
import SwarmStore
import Synchronization

/// Operator-tunable gateway settings, kept in the store's settings table so every gateway on one
/// database agrees. Reads are cached briefly: the authenticator consults them on every request.
final class GatewaySettings: Sendable {
    struct Key: Sendable {
        var name: String
        var range: ClosedRange<Int>
        var defaultValue: Int
        var help: String
        /// Where the store keeps it: `gateway.NAME`, or a key another part reads (retention).
        var storageKey: String

        init(name: String, range: ClosedRange<Int>, defaultValue: Int, help: String, storageKey: String? = nil) {
            self.name = name
            self.range = range
            self.defaultValue = defaultValue
            self.help = help
            self.storageKey = storageKey ?? "gateway.\(name)"
        }
    }

    static let keys: [Key] = [
        Key(
            name: "sessionIdleMinutes",
            range: 1...1440,
            defaultValue: 30,
            help: "sign a browser out after this long idle"
        ),
        Key(
            name: "sessionLifetimeHours",
            range: 1...720,
            defaultValue: 24,
            help: "sign a browser out this long after it signed in, however busy"
        ),
        Key(
            name: "loginAttemptsPerMinute",
            range: 1...100,
            defaultValue: 5,
            help: "failed sign-ins allowed per username from one client each minute (4 times as many per client)"
        ),
        Key(
            name: "meshWarnLatencyMs",
            range: 1...60_000,
            defaultValue: 50,
            help: "mesh page: a pair at or above this latency (or with some loss) shows as warn"
        ),
        Key(
            name: "meshBadLatencyMs",
            range: 1...60_000,
            defaultValue: 150,
            help: "mesh page: a pair at or above this latency shows as bad"
        ),
        Key(
            name: "meshBadLossPercent",
            range: 1...100,
            defaultValue: 5,
            help: "mesh page: a pair with at least this loss shows as bad"
        ),
        Key(
            name: "defaultTestIntervalSeconds",
            range: 1...86_400,
            defaultValue: 60,
            help: "the interval the test form starts with"
        ),
        Key(
            name: "retentionRawDays",
            range: 1...36_500,
            defaultValue: Int(RetentionPolicy.standard.raw / RetentionPolicy.day),
            help: "keep raw measurements this many days (then only their rollups)",
            storageKey: RetentionPolicy.settingKeys.raw
        ),
        Key(
            name: "retentionMinuteDays",
            range: 1...36_500,
            defaultValue: Int(RetentionPolicy.standard.minute / RetentionPolicy.day),
            help: "keep 1-minute rollups this many days (at least as long as raw)",
            storageKey: RetentionPolicy.settingKeys.minute
        ),
        Key(
            name: "retentionHourDays",
            range: 1...36_500,
            defaultValue: Int(RetentionPolicy.standard.hour / RetentionPolicy.day),
            help: "keep 1-hour rollups this many days (at least as long as minute rollups)",
            storageKey: RetentionPolicy.settingKeys.hour
        ),
    ]

    private let store: any SettingsStore
    private let cache = Mutex<(values: [String: Int], at: ContinuousClock.Instant)?>(nil)

    init(store: any SettingsStore) { self.store = store }

    func all() async throws -> [String: Int] {
        if let cached = cache.withLock({ $0 }), ContinuousClock.now - cached.at < .seconds(2) { return cached.values }
        var values: [String: Int] = [:]
        for key in Self.keys {
            let stored = try await store.setting(key.storageKey).flatMap { Int($0) }
            values[key.name] =
                stored.map { min(max($0, key.range.lowerBound), key.range.upperBound) } ?? key.defaultValue
        }
        cache.withLock { $0 = (values, ContinuousClock.now) }
        return values
    }

    /// The retention periods, as the retention job reads them.
    func retentionPolicy() async throws -> RetentionPolicy { retentionPolicy(try await all()) }

    private func retentionPolicy(_ values: [String: Int]) -> RetentionPolicy {
        let standard = RetentionPolicy.standard
        return RetentionPolicy(
            raw: values["retentionRawDays"].map { RetentionPolicy.day * $0 } ?? standard.raw,
            minute: values["retentionMinuteDays"].map { RetentionPolicy.day * $0 } ?? standard.minute,
            hour: values["retentionHourDays"].map { RetentionPolicy.day * $0 } ?? standard.hour
        )
    }

    func value(_ name: String) async throws -> Int {
        try await all()[name] ?? Self.keys.first { $0.name == name }?.defaultValue ?? 0
    }

    /// Validates every value first, then writes them all.
    func update(_ changes: [String: Int]) async throws(GatewayError) {
        for (name, value) in changes {
            guard let key = Self.keys.first(where: { $0.name == name }) else {
                throw GatewayError.badRequest(
                    "unknown setting '\(name)': known are \(Self.keys.map(\.name).joined(separator: ", "))"
                )
            }
            guard key.range.contains(value) else {
                throw GatewayError.badRequest(
                    "\(name) must be within \(key.range.lowerBound)...\(key.range.upperBound)"
                )
            }
        }
        // A warn threshold at or above the bad one would paint every slow pair bad and none warn.
        let current: [String: Int]
        do { current = try await all() } catch {
            throw GatewayError(.serviceUnavailable, "could not read the settings: try again shortly")
        }
        let merged = current.merging(changes) { $1 }
        if let warn = merged["meshWarnLatencyMs"], let bad = merged["meshBadLatencyMs"], warn >= bad {
            throw GatewayError.badRequest(
                "meshWarnLatencyMs (\(warn)) must be below meshBadLatencyMs (\(bad)): change both together"
            )
        }
        do {
            try retentionPolicy(merged).validate()
        } catch {
            throw GatewayError.badRequest(error.message)
        }
        do {
            for (name, value) in changes {
                let key = Self.keys.first { $0.name == name }?.storageKey ?? "gateway.\(name)"
                try await store.setSetting(key, value: String(value))
            }
        } catch let error as StoreError {
            throw GatewayError.from(error)
        } catch {
            throw GatewayError(.serviceUnavailable, "could not store the settings: try again shortly")
        }
        cache.withLock { $0 = nil }
    }
}
