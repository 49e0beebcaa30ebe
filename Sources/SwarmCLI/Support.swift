import ArgumentParser
import Foundation
import Logging
import SwarmCore
import SwarmStore
import SwarmStorePostgres
import SwarmStoreSQLite
import Synchronization

/// Options every command that reads or writes the store takes.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: ArgumentHelp(
            "Where the store lives (env SWARM_DB).",
            discussion: "sqlite:PATH, sqlite:///ABSOLUTE/PATH or a plain file path; "
                + "postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=disable|prefer|require|verify-full.",
            valueName: "url"
        )
    )
    var database: String = ProcessInfo.processInfo.environment["SWARM_DB"] ?? "sqlite:data/streamswarm.sqlite"

    /// The parsed `--db`; ``validate()`` has checked it before any command runs.
    var location: StoreLocation {
        get throws {
            do { return try StoreLocation(parsing: database) } catch { throw ValidationError("--db: \(error.message)") }
        }
    }

    func validate() throws { _ = try location }

    /// Opens the store `--db` names. Commands use it through the store protocols only.
    func open(logger: Logger) throws -> any StoreBackend {
        try StoreOpener.open(try location, logger: logger)
    }
}

/// Picks the backend for a ``StoreLocation``: the one place that names concrete stores.
enum StoreOpener {
    /// - Throws: ``StoreError`` `.unavailable` for a backend this build does not have, or when
    ///   the database cannot be opened.
    static func open(_ location: StoreLocation, logger: Logger) throws -> any StoreBackend {
        switch location.backend {
        case .sqlite(let path):
            return try SQLiteStore(configuration: .init(path: path), logger: logger)
        case .postgres(let url):
            return PostgresStore(configuration: try PostgresStore.Configuration(url: url), logger: logger)
        }
    }
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (env SWARM_LOG_LEVEL).")
    var level: String = ProcessInfo.processInfo.environment["SWARM_LOG_LEVEL"] ?? "info"
    @Option(name: .customLong("log-format"), help: "text, or json: one JSON object a line (env SWARM_LOG_FORMAT).")
    var format: String = ProcessInfo.processInfo.environment["SWARM_LOG_FORMAT"] ?? "text"

    /// Bootstraps logging once per process; only the CLI does this (libraries take a Logger).
    func makeLogger(label: String) throws -> Logger {
        guard let parsed = Logger.Level(rawValue: level) else {
            throw ValidationError("--log-level \(level) is not one of trace, debug, info, notice, warning, error")
        }
        guard format == "text" || format == "json" else {
            throw ValidationError("--log-format \(format) is not text or json")
        }
        LoggingBootstrapper.bootstrap(level: parsed, json: format == "json")
        var logger = Logger(label: label)
        logger.logLevel = parsed
        return logger
    }
}

enum LoggingBootstrapper {
    private static let done = Mutex(false)

    /// A process bootstraps logging once; later calls from the same process are ignored.
    static func bootstrap(level: Logger.Level, json: Bool = false) {
        guard
            done.withLock({ done in
                defer { done = true }
                return !done
            })
        else { return }
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Parses durations such as `500ms`, `30s`, `5m`, `1h`, `2d`.
func parseDuration(_ text: String, option: String) throws -> Duration {
    if text == "0" { return .zero }
    let units: [(String, Int64)] = [
        ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
        ("d", 86_400_000_000_000),
    ]
    for (suffix, nanos) in units where text.hasSuffix(suffix) {
        let number = text.dropLast(suffix.count)
        if let value = Double(number), value >= 0, !(suffix == "m" && number.hasSuffix("m")) {
            return .nanoseconds(Int64(value * Double(nanos)))
        }
    }
    throw ValidationError("\(option) \(text) is not a duration; use e.g. 500ms, 30s, 5m, 1h")
}

/// Splits `HOST:PORT` (IPv6 as `[::1]:7443`).
func parseHostPort(_ text: String, option: String) throws -> (String, Int) {
    if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
        let host = String(text[text.index(after: text.startIndex)..<close])
        let rest = text[text.index(after: close)...]
        guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65535).contains(port) else {
            throw ValidationError("\(option) \(text) needs a port: [ADDRESS]:PORT")
        }
        return (host, port)
    }
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (0...65535).contains(port)
    else {
        throw ValidationError("\(option) \(text) is not HOST:PORT (e.g. 127.0.0.1:7443)")
    }
    return (String(text[..<colon]), port)
}

/// A fixed-width text table for terminal output.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

extension Timestamp {
    var display: String { iso8601 }
}

func ago(_ timestamp: Timestamp?) -> String {
    guard let timestamp else { return "never" }
    let seconds = (Timestamp.now() - timestamp).seconds
    if seconds < 120 { return "\(Int(seconds))s ago" }
    if seconds < 7200 { return "\(Int(seconds / 60))m ago" }
    if seconds < 172_800 { return "\(Int(seconds / 3600))h ago" }
    return "\(Int(seconds / 86_400))d ago"
}
