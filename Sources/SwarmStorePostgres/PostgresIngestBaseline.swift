import Foundation
// why: the baseline takes SwarmCore measurements and a Logger.
public import Logging
import NIOCore
import PostgresNIO
public import SwarmCore
import SwarmStore

/// The ceiling the mesh ingest on PostgreSQL is compared against (`streamswarm bench mesh
/// --postgres`): the same rows sent with one plain `COPY ... FROM STDIN` into the store's own
/// measurements table, in the database the ingest used (emptied first), no network hop beyond the
/// database's, no dedup, no group commit. Lives here so only this module speaks PostgreSQL.
public struct PostgresIngestBaseline: Sendable {
    /// The database the bench ingested into; its measurements are deleted first.
    public var configuration: PostgresStore.Configuration

    public init(configuration: PostgresStore.Configuration) { self.configuration = configuration }

    /// Empties `measurements`, then COPYs `measurements` into it and returns the rate in rows per
    /// second, timing the COPY only. Every measurement's agent and test must exist in the database.
    ///
    /// - Throws: ``StoreError`` `.unavailable` when the database cannot be reached or written,
    ///   `.invalidInput` for a measurement whose agent is not in the database.
    public func copyRate(of measurements: [MeasurementRecord], logger: Logger) async throws -> Double {
        do {
            return try await PostgresStore.withConnection(to: configuration, logger: logger) { connection in
                try await connection.query("TRUNCATE measurements", logger: logger)
                var agentIDs: [String: Int64] = [:]
                for try await (id, name) in try await connection.query("SELECT id, name FROM agents", logger: logger)
                    .decode((Int64, String).self)
                {
                    agentIDs[name] = id
                }
                // Text format, 10,000 rows per write; the payload as bytea hex.
                var chunks: [ByteBuffer] = []
                var buffer = ByteBuffer()
                for (index, m) in measurements.enumerated() {
                    guard let agentID = agentIDs[m.agent.rawValue] else {
                        throw StoreError(
                            code: .invalidInput,
                            message: "measurement from \(m.agent), which is not in the database"
                        )
                    }
                    Self.append(m, agentID: agentID, to: &buffer)
                    if index % 10_000 == 9_999 {
                        chunks.append(buffer)
                        buffer = ByteBuffer()
                    }
                }
                if buffer.readableBytes > 0 { chunks.append(buffer) }
                let clock = ContinuousClock()
                let began = clock.now
                try await connection.copyFrom(
                    table: "measurements",
                    columns: [
                        "test_id", "agent_id", "started_at", "seq", "revision", "kind", "status", "duration_ns",
                        "value",
                        "reason", "payload",
                    ],
                    logger: logger
                ) { writer in
                    for chunk in chunks { try await writer.write(chunk) }
                }
                return Double(measurements.count) / max((clock.now - began).seconds, 1e-9)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw PostgresStore.storeError(error, action: "the COPY baseline")
        }
    }

    /// Appends one row in COPY's text format: tab-separated, `\N` for NULL, bytea as `\\x` hex.
    static func append(_ m: MeasurementRecord, agentID: Int64, to buffer: inout ByteBuffer) {
        let value = m.value.map { "\($0)" } ?? "\\N"
        let reason = m.reason.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n")
        buffer.writeString(
            "\(m.testID.rawValue)\t\(agentID)\t\(m.startedAt.unixNanos)\t\(Int64(bitPattern: m.sequence))\t\(m.revision)\t"
                + "\(m.kind.rawValue)\t\(m.status.rawValue)\t\(m.duration.nanoseconds)\t\(value)\t\(reason)\t\\\\x"
        )
        let digits = Array("0123456789abcdef".utf8)
        buffer.reserveCapacity(minimumWritableBytes: m.payload.count * 2 + 1)
        for byte in m.payload {
            buffer.writeInteger(digits[Int(byte >> 4)])
            buffer.writeInteger(digits[Int(byte & 0x0f)])
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }
}
