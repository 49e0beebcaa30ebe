import Foundation
import GRDB
// why: the baseline takes SwarmCore measurements and a Logger and throws SwarmStore's StoreError.
public import Logging
public import SwarmCore
import SwarmStore

/// The ceiling the mesh ingest is compared against (`streamswarm bench mesh`): the same rows
/// inserted straight into a fresh database of the store's schema with plain batched SQL, no
/// network, no group commit, `synchronous = NORMAL`. Lives here so only this module speaks GRDB.
public struct SQLiteIngestBaseline: Sendable {
    /// The database file to create; it must not exist yet.
    public var path: String
    /// Rows per write transaction. Defaults to 10,000.
    public var rowsPerTransaction: Int = 10_000

    public init(path: String) { self.path = path }

    /// Creates the schema (through ``SQLiteStore``, so it is the real one), the tests and `agents`
    /// the rows refer to, then inserts `measurements` and returns the rate in rows per second,
    /// timing the inserts only. Every measurement's agent must be in `agents`.
    ///
    /// - Throws: ``StoreError`` `.unavailable` when the database cannot be created or written,
    ///   `.invalidInput` for a measurement whose agent is not in `agents`.
    public func insertRate(of measurements: [MeasurementRecord], agents: [AgentName], logger: Logger) throws -> Double {
        _ = try SQLiteStore(configuration: .init(path: path), logger: logger)
        let agentIDs = Dictionary(agents.enumerated().map { ($1, $0 + 1) }, uniquingKeysWith: { first, _ in first })
        var rows: [StatementArguments] = []
        rows.reserveCapacity(measurements.count)
        for m in measurements {
            guard let agentID = agentIDs[m.agent] else {
                throw StoreError(
                    code: .invalidInput,
                    message: "measurement from \(m.agent), which is not in the agents"
                )
            }
            rows.append([
                m.testID.rawValue, agentID, m.startedAt.unixNanos, Int64(bitPattern: m.sequence), m.revision,
                m.kind.rawValue, m.status.rawValue, m.duration.nanoseconds, m.value, m.reason, m.payload,
            ])
        }
        do {
            var config = Configuration()
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 10000")
            }
            let pool = try DatabasePool(path: path, configuration: config)
            try pool.write { db in
                for test in Set(measurements.map(\.testID)) {
                    try db.execute(
                        sql: "INSERT INTO tests (id, name, state, revision, created_at, updated_at) "
                            + "VALUES (?, 'bench', 'active', 1, 0, 0)",
                        arguments: [test.rawValue]
                    )
                }
                for (index, agent) in agents.enumerated() {
                    try db.execute(
                        sql: "INSERT INTO agents (id, name) VALUES (?, ?)",
                        arguments: [index + 1, agent.rawValue]
                    )
                }
            }
            let clock = ContinuousClock()
            let began = clock.now
            var index = 0
            let step = max(1, rowsPerTransaction)
            while index < rows.count {
                let end = min(rows.count, index + step)
                let slice = rows[index..<end]
                try pool.write { db in
                    let statement = try db.cachedStatement(
                        sql: """
                            INSERT INTO measurements (test_id, agent_id, ts, seq, revision, kind, status, duration_ns, value, reason, payload)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """
                    )
                    for row in slice { try statement.execute(arguments: row) }
                }
                index = end
            }
            return Double(rows.count) / max((clock.now - began).seconds, 1e-9)
        } catch {
            throw StoreError(
                code: .unavailable,
                message: "the baseline insert into \(path) failed: check the disk space and the directory",
                cause: error
            )
        }
    }
}
