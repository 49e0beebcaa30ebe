import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import SwarmCore
import SwarmStore
import Synchronization

// The change feed across processes: how a ``StoreChange`` made by one handle reaches the others.
//
// Every mutation that publishes a change logs it in `changes` in its own transaction
// (``transactionAndPublish(_:_:)``), tagged with the writing handle's origin; a trigger NOTIFYs
// each row on `streamswarm_changes`, delivered when (and only if) the transaction commits.
// ``run()`` LISTENs on a pooled connection and publishes other origins' changes on the in-process
// feed. Whenever it (re)connects, it first LISTENs and then reads the log past its cursor, so a
// change committed while it had no connection is published too; the ids it has published are
// remembered, so one heard both ways is published once. Rows older than `changeRetention` are
// pruned; a handle that finds rows it never read pruned publishes ``StoreChange/testsChanged``
// (every subscriber reconciles), as SQLite does.
extension PostgresStore {
    static let changeChannel = "streamswarm_changes"

    /// Runs the pool and the cross-process change feed until graceful shutdown or cancellation.
    ///
    /// A second `run()` while one is going serves nothing more: it waits for shutdown.
    public func run() async throws {
        let client = makeClient(maximumConnections: configuration.maximumConnections)
        let started = pool.withLock { pool -> Bool in
            guard pool.client == nil else { return false }
            pool.client = client
            return true
        }
        guard started else {
            await cancelWhenGracefulShutdown {
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            }
            return
        }
        // Unstructured, so cancelling run() does not stop the pool under its users (see `Pool`).
        let running = Task { await client.run() }
        await withDiscardingTaskGroup { group in
            group.addTask { await cancelWhenGracefulShutdown { await self.pruneLoop() } }
            await cancelWhenGracefulShutdown { await self.listenLoop() }
            group.cancelAll()
        }
        // New operations now bring their own client; those on the pool finish first.
        pool.withLock { $0.client = nil }
        while pool.withLock({ $0.users }) > 0 {
            // Not this task's sleep: it is cancelled, and would return at once.
            await Task { try? await Task.sleep(for: .milliseconds(10)) }.value
        }
        running.cancel()
        await running.value
    }

    private func listenLoop() async {
        var lastWarning: String?  // said once, not on every retry
        let logger = self.logger
        while !Task.isCancelled {
            do {
                // Migrations and the log go through the pool: the LISTEN connection is closed on
                // cancellation, and a query issued on a closed PostgresConnection never completes
                // (postgres-nio 1.33 drops it unanswered: a ROLLBACK after the close hung shutdown).
                try await prepare()
                try await withOwnConnection(closingOnCancel: true) { connection in
                    try await connection.listen(on: Self.changeChannel) { notifications in
                        // LISTEN is on: whatever commits from now on is heard; read what came before.
                        try await self.catchUp()
                        lastWarning = nil
                        for try await notification in notifications {
                            try await self.received(notification.payload)
                        }
                    }
                }
                if Task.isCancelled { return }
                throw StoreError(code: .unavailable, message: "the LISTEN connection closed")
            } catch {
                if Task.isCancelled { return }
                let warning =
                    "listening for changes failed (retrying every \(configuration.listenRetryInterval)): "
                    + "\(Self.storeError(error, action: "LISTEN"))"
                if warning != lastWarning { logger.warning("\(warning)") }
                lastWarning = warning
            }
            do { try await Task.sleep(for: configuration.listenRetryInterval) } catch { return }
        }
    }

    private func pruneLoop() async {
        // Pruning is cheap but a write: once a minute (or per retention, when that is shorter).
        let every = min(configuration.changeRetention, .seconds(60))
        while !Task.isCancelled {
            do {
                var pruned = Self.pruneRoundRows
                while pruned == Self.pruneRoundRows, !Task.isCancelled {
                    pruned = try await pruneChanges(olderThan: Timestamp.now() - configuration.changeRetention)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("pruning the change log failed (retrying in \(every)): \(error)")
            }
            do { try await Task.sleep(for: every) } catch { return }
        }
    }

    /// Deletes change-log rows logged before `cutoff`, at most ``pruneRoundRows`` of the oldest;
    /// returns how many. Ids follow time, so the oldest rows are the first on the primary key.
    @discardableResult
    func pruneChanges(olderThan cutoff: Timestamp) async throws -> Int {
        let logger = self.logger
        return try await transaction("pruning the change log") { connection in
            try await connection.run(
                """
                DELETE FROM changes WHERE id IN (
                    SELECT id FROM changes WHERE at < \(cutoff.unixNanos) ORDER BY id LIMIT \(Self.pruneRoundRows))
                RETURNING 1
                """,
                logger
            )
        }
    }

    /// The most change-log rows one prune deletes.
    static let pruneRoundRows = 10_000

    /// Reads the log past the cursor, publishes what other handles wrote that was not heard yet, in
    /// order. Returns how many changes it published.
    @discardableResult
    func catchUp() async throws -> Int {
        let origin = self.origin
        let logger = self.logger
        var published = 0
        while true {
            let floor = changeCursor.withLock { $0.floor }
            let page = try await read("reading the change log") { connection -> ChangePage in
                let rows = try await connection.rows(
                    """
                    SELECT id, kind, test_id, agent_name, agents_json, count FROM changes
                    WHERE id > \(floor) AND origin <> \(origin) ORDER BY id LIMIT \(Self.pageRows)
                    """,
                    logger
                )
                let oldest = try await connection.rows("SELECT MIN(id) FROM changes", logger).first?.decode(Int64?.self)
                let newest = try await Self.lastChangeID(connection, logger)
                // Rows past the floor were written (the sequence moved) but nothing at or below the
                // first of them is left: pruning, which takes the oldest first, passed the floor.
                let missed = newest > floor && (oldest.flatMap { $0 } ?? Int64.max) > floor + 1
                return ChangePage(rows: try rows.map(Self.loggedChange), missed: missed)
            }
            if page.missed, published == 0 {
                logger.notice("change log rows were pruned before this handle read them; reconciling everything")
                feed.publish(.testsChanged)
                published += 1
            }
            for row in page.rows where changeCursor.withLock({ $0.admit(row.id) }) {
                if let change = row.change { feed.publish(change) }
                published += 1
            }
            if page.rows.count < Self.pageRows {
                return published
            }
            if let last = page.rows.last?.id { changeCursor.withLock { $0.raiseFloor(to: last) } }
        }
    }

    /// One NOTIFY payload: publishes it unless it is this handle's own or was published already.
    func received(_ payload: String) async throws {
        guard let note = try? JSONDecoder().decode(Notification.self, from: Data(payload.utf8)) else {
            logger.debug("ignored a change notification that does not decode")
            return
        }
        guard note.origin != origin, changeCursor.withLock({ $0.admit(note.id) }) else { return }
        if let kind = note.kind {
            let row = ChangeLogRow(
                kind: kind,
                testID: note.test,
                agentName: note.agent,
                agents: note.agents ?? [],
                count: note.count ?? 0
            )
            if let change = row.change { feed.publish(change) }
            return
        }
        // Too large for NOTIFY: the row says it.
        let logger = self.logger
        let row = try await read("reading a change") { connection in
            try await connection.rows(
                "SELECT id, kind, test_id, agent_name, agents_json, count FROM changes WHERE id = \(note.id)",
                logger
            ).first.map(Self.loggedChange)
        }
        if let change = row?.change { feed.publish(change) }
    }

    /// Logs `changes` inside the caller's transaction, in one statement.
    static func logChanges(
        _ changes: [StoreChange],
        origin: String,
        _ connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard !changes.isEmpty else { return }
        let at = Timestamp.now().unixNanos
        var query = PostgresQuery.StringInterpolation(literalCapacity: 128, interpolationCount: changes.count * 7)
        query.appendLiteral("INSERT INTO changes (at, origin, kind, test_id, agent_name, agents_json, count) VALUES ")
        for (index, change) in changes.enumerated() {
            let row = ChangeLogRow(change)
            query.appendLiteral(index == 0 ? "(" : ", (")
            query.appendInterpolation(at)
            query.appendLiteral(", ")
            query.appendInterpolation(origin)
            query.appendLiteral(", ")
            query.appendInterpolation(row.kind)
            query.appendLiteral(", ")
            query.appendInterpolation(row.testID)
            query.appendLiteral(", ")
            query.appendInterpolation(row.agentName)
            query.appendLiteral(", ")
            query.appendInterpolation(row.agentsJSON)
            query.appendLiteral(", ")
            query.appendInterpolation(row.count)
            query.appendLiteral(")")
        }
        try await connection.run(PostgresQuery(stringInterpolation: query), logger)
    }

    /// The id of the newest change ever logged (0 when none), counting rows already pruned.
    static func lastChangeID(_ connection: PostgresConnection, _ logger: Logger) async throws -> Int64 {
        let rows = try await connection.rows(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM changes_id_seq",
            logger
        )
        return try rows.first?.decode(Int64.self) ?? 0
    }

    /// A NOTIFY payload (see the `swarm_change_notify` trigger); `kind` is nil when only the id fit.
    private struct Notification: Decodable {
        var id: Int64
        var origin: String
        var kind: String?
        var test: Int64?
        var agent: String?
        var agents: [String]?
        var count: Int?
    }

    struct LoggedChange: Sendable {
        var id: Int64
        /// nil for a row this version does not understand (written by a newer one).
        var change: StoreChange?
    }

    private struct ChangePage: Sendable {
        var rows: [LoggedChange]
        var missed: Bool
    }

    private static let pageRows = 500

    private static func loggedChange(_ row: PostgresRow) throws -> LoggedChange {
        let (id, kind, test, agent, agentsJSON, count) = try row.decode(
            (Int64, String, Int64?, String?, String, Int).self
        )
        let logged = ChangeLogRow(kind: kind, testID: test, agentName: agent, agentsJSON: agentsJSON, count: count)
        return LoggedChange(id: id, change: logged.change)
    }
}

/// Which change-log ids of other handles a handle has published: every id at or below `floor`
/// counts as handled, and `seen` holds those above it. NOTIFY and the catch-up read may both
/// bring one row; it is published once.
struct ChangeCursor: Sendable {
    private(set) var floor: Int64 = 0
    private var seen: Set<Int64> = []
    private var started = false

    /// Sets the floor where the log is when the handle opens (the first time only).
    mutating func start(at newest: Int64) {
        guard !started else { return }
        started = true
        floor = max(floor, newest)
    }

    /// Whether `id` is new: true once per id.
    mutating func admit(_ id: Int64) -> Bool {
        guard id > floor, seen.insert(id).inserted else { return false }
        if seen.count > 20_000 {
            // Bounded memory: forget the older half; a row that old is not heard of again.
            let older = seen.sorted().prefix(10_000)
            if let last = older.last { raiseFloor(to: last) }
        }
        return true
    }

    /// Every id up to `id` counts as handled (the catch-up read them all).
    mutating func raiseFloor(to id: Int64) {
        guard id > floor else { return }
        floor = id
        seen = seen.filter { $0 > id }
    }
}
