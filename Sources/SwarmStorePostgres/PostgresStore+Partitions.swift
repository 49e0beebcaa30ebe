import Logging
import PostgresNIO
import SwarmCore
import SwarmStore
import Synchronization

// Monthly partitions of `measurements`, made on demand before a commit that needs them.
//
// A month gets its own partition when it lies between January 2000 and twelve months ahead of
// now; rows of other months (an agent clock far off, test data from 1970) go to the default
// partition. A month whose rows already sit in the default partition keeps them there: PostgreSQL
// refuses a partition that would take rows from the default one, and moving them is not worth a
// lock on the whole table. Partitions are made in their own short transaction under an advisory
// lock, so several servers reaching a new month at once make it once.
extension PostgresStore {
    /// The advisory lock key partition creation takes ("swarmp" in ASCII).
    static let partitionLock: Int64 = 0x7377_6172_6d70

    /// A month as a single number: year × 12 + month − 1 (UTC).
    struct Month: Hashable, Comparable, Sendable {
        var index: Int

        init(index: Int) { self.index = index }

        /// The month `nanos` (Unix nanoseconds) falls in.
        init(unixNanos nanos: Int64) {
            let day = Int(nanos.quotientRoundingDown(dividingBy: 86_400_000_000_000))
            let (year, month) = Self.civil(fromDays: day)
            index = year * 12 + month - 1
        }

        var year: Int { index.quotientRoundingDown(dividingBy: 12) }
        var month: Int { index - year * 12 + 1 }
        var next: Month { Month(index: index + 1) }

        /// Unix nanoseconds at the month's first instant, nil outside Int64's range.
        var startNanos: Int64? {
            let (nanos, overflow) = Int64(Self.days(year: year, month: month)).multipliedReportingOverflow(
                by: 86_400_000_000_000
            )
            return overflow ? nil : nanos
        }

        /// The partition's table name: only digits are variable, so it is safe to splice.
        var tableName: String {
            let paddedMonth = month < 10 ? "0\(month)" : "\(month)"
            return "measurements_y\(year)m\(paddedMonth)"
        }

        static func < (lhs: Month, rhs: Month) -> Bool { lhs.index < rhs.index }

        /// Days since 1970-01-01 of the first of `month` (H. Hinnant's days_from_civil).
        static func days(year: Int, month: Int) -> Int {
            let y = month <= 2 ? year - 1 : year
            let era = y.quotientRoundingDown(dividingBy: 400)
            let yoe = y - era * 400
            let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
            return era * 146_097 + doe - 719_468
        }

        /// The (year, month) of a day number (H. Hinnant's civil_from_days).
        static func civil(fromDays days: Int) -> (year: Int, month: Int) {
            let z = days + 719_468
            let era = z.quotientRoundingDown(dividingBy: 146_097)
            let doe = z - era * 146_097
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            let month = mp < 10 ? mp + 3 : mp - 9
            return (yoe + era * 400 + (month <= 2 ? 1 : 0), month)
        }
    }

    /// The months that get their own partition, as of `now`.
    static func partitionedMonths(now: Timestamp) -> ClosedRange<Month> {
        Month(index: 2000 * 12)...Month(index: Month(unixNanos: now.unixNanos).index + 12)
    }

    /// Makes the partitions the months of `times` need and this handle has not seen yet.
    func ensurePartitions(for times: [Timestamp]) async throws {
        let window = Self.partitionedMonths(now: .now())
        let wanted = Set(times.map { Month(unixNanos: $0.unixNanos) }).filter { window.contains($0) }
        let missing = knownPartitions.withLock { known in wanted.filter { !known.contains($0.index) } }
        for month in missing.sorted() {
            try await makePartition(month)
            knownPartitions.withLock { _ = $0.insert(month.index) }
        }
    }

    /// Makes the partition of `month` unless it exists or the default partition holds its rows;
    /// returns whether the month has its own partition now.
    @discardableResult
    func makePartition(_ month: Month) async throws -> Bool {
        guard let from = month.startNanos, let to = month.next.startNanos else { return false }
        let table = month.tableName
        let logger = self.logger
        return try await rawTransaction("making partition \(table)") { connection -> Bool in
            try await connection.run("SELECT pg_advisory_xact_lock(\(Self.partitionLock))", logger)
            let exists = try await connection.rows("SELECT to_regclass(\(table)) IS NOT NULL", logger)
            if try exists.first?.decode(Bool.self) == true { return true }
            let inDefault = try await connection.rows(
                """
                SELECT EXISTS (SELECT 1 FROM measurements_default WHERE started_at >= \(from) AND started_at < \(to))
                """,
                logger
            )
            if try inDefault.first?.decode(Bool.self) == true { return false }
            // Splices only the digits of `table`, `from` and `to`: DDL takes no binds.
            try await connection.run(
                """
                CREATE TABLE \(unescaped: table) PARTITION OF measurements
                FOR VALUES FROM (\(unescaped: String(from))) TO (\(unescaped: String(to)))
                """,
                logger
            )
            logger.info("partition \(table) made", metadata: ["swarm.store.database": "\(self.configuration.database)"])
            return true
        }
    }
}

extension BinaryInteger {
    /// Division rounding toward negative infinity (days and months before 1970 stay in order).
    fileprivate func quotientRoundingDown(dividingBy divisor: Self) -> Self {
        let (q, r) = quotientAndRemainder(dividingBy: divisor)
        return r < 0 ? q - 1 : q
    }
}
