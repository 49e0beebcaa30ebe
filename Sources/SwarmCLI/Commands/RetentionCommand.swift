import ArgumentParser
import Foundation
import Logging
import SwarmCore
import SwarmServer
import SwarmStore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "How long raw results and their 1-minute and 1-hour rollups are kept.",
        discussion: """
            The server rolls results up as each minute and hour closes and removes what the periods no \
            longer keep. The periods are settings (also on the Settings page).
            """,
        subcommands: [Show.self, Set.self, Run.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the periods and how far the rollups are.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.cli"))
            let policy = try await RetentionPolicy.load(from: backend)
            print("retention: \(policy)")
            let marks = try await backend.rollupWatermarks()
            for resolution in [SeriesResolution.minute, .hour] {
                let through = marks[resolution].map { "complete through \($0.iso8601)" } ?? "not rolled up yet"
                print("  \(resolution.rawValue) rollups: \(through)")
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change one or more periods (in days).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions
        @Option(help: "Days to keep raw results (at least 1).") var rawDays: Int?
        @Option(help: "Days to keep 1-minute rollups (at least the raw period).") var minuteDays: Int?
        @Option(help: "Days to keep 1-hour rollups (at least the minute period).") var hourDays: Int?

        func run() async throws {
            guard rawDays != nil || minuteDays != nil || hourDays != nil else {
                throw ValidationError("give at least one of --raw-days, --minute-days, --hour-days")
            }
            let backend = try store.open(logger: try logging.makeLogger(label: "streamswarm.cli"))
            var policy = try await RetentionPolicy.load(from: backend)
            if let rawDays { policy.raw = RetentionPolicy.day * rawDays }
            if let minuteDays { policy.minute = RetentionPolicy.day * minuteDays }
            if let hourDays { policy.hour = RetentionPolicy.day * hourDays }
            do {
                try await policy.save(to: backend)
            } catch let error as StoreError where error.code == .invalidInput {
                throw ValidationError(error.message)
            }
            print("retention: \(policy) (the server applies it at its next pass, within 10 minutes)")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Roll up and prune now, as the server does in the background (safe beside a running server)."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = try logging.makeLogger(label: "streamswarm.cli")
            let backend = try store.open(logger: logger)
            let (rollups, pruned) = try await RetentionJob(store: backend, logger: logger).runOnce(now: .now())
            let written = SeriesResolution.allCases.compactMap { r in rollups.buckets[r].map { "\($0) \(r.rawValue)" } }
            print("rolled up: \(written.isEmpty ? "nothing new" : written.joined(separator: ", ") + " buckets")")
            if let pruned {
                print(
                    "removed: \(pruned.raw) raw results, \(pruned.minute) minute rollups, \(pruned.hour) hour rollups"
                )
            }
        }
    }
}
