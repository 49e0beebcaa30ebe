import Foundation
import Logging
import NIOCore
import SwarmCore
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Testing

@Suite("Recurring tests: continue and new")
struct RecurrenceTests {
    func spec(_ mode: TestSpec.Recurrence.Mode, start: Timestamp) -> TestSpec {
        var spec = TestSpec(name: "hourly", probes: [.icmp, .dns], target: .init(host: "192.0.2.1"))
        spec.schedule = .init(
            interval: .seconds(10),
            count: 3,
            timeout: .seconds(2),
            start: start,
            end: start + .seconds(300)
        )
        spec.options.dscp = 46
        spec.recurrence = .init(mode: mode, interval: .seconds(3600))
        return spec
    }

    @Test("new mode: each occurrence becomes a child test with every setting, once, at the interval")
    func newModeChildren() async throws {
        try await withTemporaryDirectory { dir in
            let store = try SQLiteStore(configuration: .init(path: "\(dir)/r.sqlite"), logger: Logger(label: "t"))
            let start = Timestamp.now() - .seconds(3600 * 2 + 30)
            let parent = try await store.createTest(
                spec(.new, start: start),
                agents: [AgentName("a1")!, AgentName("a2")!]
            )
            let scheduler = RecurrenceScheduler(store: store, logger: Logger(label: "t"))
            // Two hours have passed: the scheduler catches up to the current occurrence only.
            let made = try await scheduler.runOnce(now: .now())
            #expect(made.count == 1)
            let child = try #require(made.first)
            #expect(child.parentID == parent.id)
            #expect(child.occurrence == 1)
            #expect(child.spec.probes == [.icmp, .dns])
            #expect(child.spec.options.dscp == 46)
            #expect(child.spec.schedule.interval == .seconds(10))
            #expect(child.spec.schedule.start == start + .seconds(7200))
            #expect(child.spec.schedule.end == start + .seconds(7500))
            #expect(child.spec.recurrence.mode == .none)
            #expect(child.agents == parent.agents)
            // Running again (or a second scheduler) makes nothing new until the next hour.
            #expect(try await scheduler.runOnce(now: .now()).isEmpty)
            #expect(
                try await RecurrenceScheduler(store: store, logger: Logger(label: "t")).runOnce(now: .now()).isEmpty
            )
            let next = try await scheduler.runOnce(now: .now() + .seconds(3600))
            #expect(next.map(\.occurrence) == [2])
            #expect(next.first?.spec.schedule.start == start + .seconds(3 * 3600))
            // A stopped parent stops making children; the children stay.
            _ = try await store.cancelTest(parent.id)
            #expect(try await scheduler.runOnce(now: .now() + .seconds(7200)).isEmpty)
            #expect(try await store.tests(matching: TestQuery(parent: parent.id)).total == 2)
        }
    }

    @Test("continue mode: the same test's windows repeat every interval; phases follow")
    func continueWindows() {
        let start = Timestamp(unixNanos: 1_790_000_000_000_000_000)
        let s = spec(.continue, start: start)
        let created = start - .seconds(10)
        #expect(s.phase(at: start - .seconds(1), createdAt: created, hasResults: false).phase == .scheduled)
        #expect(s.phase(at: start + .seconds(100), createdAt: created, hasResults: true).phase == .running)
        let between = s.phase(at: start + .seconds(400), createdAt: created, hasResults: true)
        #expect(between.phase == .waiting)
        #expect(between.nextRunAt == start + .seconds(3600))
        #expect(s.phase(at: start + .seconds(3700), createdAt: created, hasResults: true).phase == .running)
        let next = s.nextOccurrence(after: start + .seconds(3700), base: start)
        #expect(next == Occurrence(index: 2, start: start + .seconds(7200), end: start + .seconds(7500)))
        var once = s
        once.recurrence = .init()
        #expect(once.phase(at: start + .seconds(400), createdAt: created, hasResults: true).phase == .finished)
    }

    @Test("recurrence settings that cannot work are refused with a reason")
    func validation() {
        let start = Timestamp.now()
        var overlapping = spec(.continue, start: start)
        overlapping.schedule.end = start + .seconds(7200)
        #expect(throws: SpecError.self) { try overlapping.validate() }
        var noStart = spec(.new, start: start)
        noStart.schedule.start = nil
        #expect(throws: SpecError.self) { try noStart.validate() }
        var tooFast = spec(.new, start: start)
        tooFast.recurrence.interval = .milliseconds(10)
        #expect(throws: SpecError.self) { try tooFast.validate() }
        #expect(throws: Never.self) { try spec(.new, start: start).validate() }
    }
}
