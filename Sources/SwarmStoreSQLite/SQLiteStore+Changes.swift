import GRDB
import Logging
import ServiceLifecycle
import SwarmCore
import SwarmStore
import Synchronization

// The change log: how a ``StoreChange`` made by one process reaches the others on the same file.
//
// Every mutation that publishes a change logs it in `changes` in its own transaction
// (``writeAndPublish(_:)``), tagged with the writing handle's origin. ``run()`` reads the rows past
// its cursor every `changePollInterval`, publishes those of other origins on the in-process feed,
// and prunes rows older than `changeRetention`. Ids come from AUTOINCREMENT under SQLite's single
// writer, so they are contiguous in commit order: a hole below the first unread row means rows
// were pruned before this handle read them, and it publishes ``StoreChange/testsChanged`` (every
// subscriber reconciles) instead of guessing what it missed.
extension SQLiteStore {
    /// Runs the cross-process change feed until graceful shutdown or cancellation.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.followChangeLog() }
    }

    private func followChangeLog() async {
        let interval = configuration.changePollInterval
        // Pruning is cheap but a write: once a minute (or per retention, when that is shorter).
        let pruneEvery = min(configuration.changeRetention, .seconds(60))
        var lastPrune: ContinuousClock.Instant?
        var lastWarning: String?  // said once, not on every tick
        while !Task.isCancelled {
            do {
                try await pollChanges()
                if lastPrune.map({ ContinuousClock.now - $0 >= pruneEvery }) ?? true {
                    let pruned = try await pruneChanges(olderThan: Timestamp.now() - configuration.changeRetention)
                    // A full round may have left more: the next tick takes the next round.
                    if pruned < Self.pruneRoundRows { lastPrune = ContinuousClock.now }
                }
                lastWarning = nil
            } catch {
                if Task.isCancelled { return }  // the read was cut short by shutdown, not a failure
                let warning = "reading the change log failed (retrying every \(interval)): \(error)"
                if warning != lastWarning { logger.warning("\(warning)") }
                lastWarning = warning
            }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// Reads the change log past the cursor once, publishes what other handles wrote, in order,
    /// and moves the cursor. Returns how many changes it published.
    @discardableResult
    func pollChanges() async throws -> Int {
        let origin = self.origin
        var published = 0
        while true {
            let cursor = changeCursor.withLock { $0 }
            let page = try await read { db in try Self.readChanges(db, after: cursor, skipping: origin) }
            if page.missed {
                logger.notice("change log rows were pruned before this process read them; reconciling everything")
                feed.publish(.testsChanged)
                published += 1
            }
            for change in page.changes { feed.publish(change) }
            published += page.changes.count
            changeCursor.withLock { $0 = max($0, page.cursor) }
            if !page.more { return published }
        }
    }

    /// Deletes change-log rows logged before `cutoff`, at most ``pruneRoundRows`` of the oldest
    /// in one go; returns how many.
    ///
    /// Rows are in time order by id, so the delete is a range on the primary key ending at the
    /// first row to keep, looked for only among the oldest rows of the round: each round touches
    /// only what it removes, needs no index on time, and holds the write lock briefly however
    /// large a backlog is (a server restarted after a day of another process's writes).
    @discardableResult
    func pruneChanges(olderThan cutoff: Timestamp) async throws -> Int {
        try await write { db in
            guard let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM changes") else { return 0 }
            let roundEnd = oldest + Int64(Self.pruneRoundRows)
            let firstKept = try Int64.fetchOne(
                db,
                sql: "SELECT id FROM changes WHERE id >= ? AND id < ? AND at >= ? ORDER BY id LIMIT 1",
                arguments: [oldest, roundEnd, cutoff.unixNanos]
            )
            try db.execute(sql: "DELETE FROM changes WHERE id < ?", arguments: [firstKept ?? roundEnd])
            return db.changesCount
        }
    }

    /// The most change-log rows one prune deletes.
    static let pruneRoundRows = 10_000

    /// Logs `changes` inside the caller's transaction.
    static func logChanges(_ changes: [StoreChange], origin: String, _ db: Database) throws {
        guard !changes.isEmpty else { return }
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO changes (at, origin, kind, test_id, agent_name, agents_json, count)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        )
        let at = Timestamp.now().unixNanos
        for change in changes {
            let row = ChangeLogRow(change)
            try insert.execute(arguments: [at, origin, row.kind, row.testID, row.agentName, row.agentsJSON, row.count])
        }
    }

    /// The id of the newest change ever logged (0 when none), counting rows already pruned.
    static func lastChangeID(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'changes'") ?? 0
    }

    /// One read of the log: the changes of other origins, where the cursor moves to, whether more
    /// rows wait, and whether rows this handle never read were pruned.
    private struct ChangePage: Sendable {
        var changes: [StoreChange]
        var cursor: Int64
        var more: Bool
        var missed: Bool
    }

    private static let pageRows = 500

    private static func readChanges(_ db: Database, after cursor: Int64, skipping origin: String) throws -> ChangePage {
        let newest = try lastChangeID(db)
        guard newest > cursor else { return ChangePage(changes: [], cursor: cursor, more: false, missed: false) }
        let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM changes") ?? newest + 1
        // The origin filter runs in SQLite: this handle's own rows (most of them, on a busy
        // server) are stepped over without being decoded.
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT id, kind, test_id, agent_name, agents_json, count FROM changes
                WHERE id > ? AND id <= ? AND origin != ? ORDER BY id LIMIT \(pageRows)
                """,
            arguments: [cursor, newest, origin]
        )
        let more = rows.count == pageRows
        let lastRead: Int64? = rows.last?["id"]
        return ChangePage(
            changes: rows.compactMap(change(from:)),
            cursor: more ? (lastRead ?? newest) : newest,
            more: more,
            missed: oldest > cursor + 1
        )
    }

    /// A logged row as a change; nil for a row this version does not understand (written by a
    /// newer one), which is skipped.
    private static func change(from row: Row) -> StoreChange? {
        ChangeLogRow(
            kind: row["kind"],
            testID: row["test_id"],
            agentName: row["agent_name"],
            agentsJSON: row["agents_json"],
            count: row["count"]
        ).change
    }
}
