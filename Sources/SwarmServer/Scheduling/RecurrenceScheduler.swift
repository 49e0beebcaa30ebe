// why: a Service the CLI adds to its ServiceGroup; it takes a Store, a Logger and SwarmCore times.
public import Logging
public import ServiceLifecycle
public import SwarmCore
public import SwarmStore

/// Makes the child tests of "new"-mode recurring tests: occurrence n of a parent becomes its own
/// test at `start + n × interval`, with every setting of the parent.
///
/// It works from the store alone, so any number of servers may run it on one database: a child is
/// unique per (parent, occurrence), and a second scheduler's attempt is a harmless conflict.
public struct RecurrenceScheduler: Service {
    private let store: any RecurrenceStore
    private let logger: Logger
    private let tick: Duration
    /// Children are made this long before they start, so agents hold them in time.
    private let lead: Duration

    public init(store: any RecurrenceStore, logger: Logger, tick: Duration = .seconds(1), lead: Duration = .seconds(2))
    {
        self.store = store
        self.logger = logger
        self.tick = tick
        self.lead = lead
    }

    public func run() async throws {
        // Nothing to drain: a graceful shutdown simply stops the loop.
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            do {
                try await runOnce(now: .now())
            } catch {
                if Task.isCancelled { return }
                logger.warning("recurrence scheduler: \(error); retrying in \(tick)")
            }
            do { try await Task.sleep(for: tick) } catch { return }
        }
    }

    /// One pass: creates every child that is due by `now + lead`. Returns the tests it made.
    @discardableResult
    public func runOnce(now: Timestamp) async throws -> [TestRecord] {
        // Only active "new"-mode parents, a page at a time; each asks for its newest child.
        var parents: [TestRecord] = []
        var offset = 0
        while true {
            let page = try await store.tests(
                matching: TestQuery(state: .active, recurrence: .new, limit: 500, offset: offset)
            )
            parents += page.tests
            offset += page.tests.count
            if page.tests.isEmpty || offset >= page.total { break }
        }
        var made: [TestRecord] = []
        for parent in parents where parent.spec.recurs {
            let base = parent.spec.base(fallback: parent.createdAt)
            let interval = parent.spec.recurrence.interval
            // After a restart the parent's base moves; the next child follows the later of the two.
            let previous = try await store.tests(matching: TestQuery(parent: parent.id, limit: 1)).tests.first
            let lastStart = max(base, previous?.spec.schedule.start ?? base)
            var due = lastStart + interval
            if due + interval < now {
                // The server was down for whole occurrences: those runs cannot happen now.
                let skipped = Int((now - due).nanoseconds / interval.nanoseconds)
                due = due + interval * skipped
                logger.notice("test \(parent.id): \(skipped) occurrences were missed while no scheduler ran")
            }
            guard due <= now + lead else { continue }
            let occurrence = (previous?.occurrence ?? 0) + 1
            var spec = parent.spec
            let length = parent.spec.schedule.end.map { $0 - base }
            spec.name = "\(parent.spec.name) #\(occurrence)"
            spec.schedule.start = due
            spec.schedule.end = length.map { due + $0 }
            spec.recurrence = TestSpec.Recurrence()
            do {
                let child = try await store.createChildTest(spec, parent: parent.id, occurrence: occurrence)
                try await store.appendEvent(
                    EventRecord(
                        kind: "test.created",
                        subject: "\(child.id)",
                        message: "test \(child.id) created: occurrence \(occurrence) of recurring test \(parent.id)"
                    )
                )
                logger.info("test \(parent.id): occurrence \(occurrence) created as test \(child.id), starting \(due)")
                made.append(child)
            } catch let error as StoreError where error.code == .conflict {
                continue  // Another scheduler made it first.
            }
        }
        return made
    }
}
