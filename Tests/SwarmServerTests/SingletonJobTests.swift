import Logging
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct SingletonJobTests {
    @Test("two servers' singleton jobs: exactly one runs; when it stops, the other takes over")
    func oneAtATime() async throws {
        try await withTemporaryDirectory { dir in
            let store = try makeTestStore(in: dir)
            let running = Mutex<Set<String>>([])
            let overlap = Mutex(false)
            func job(_ holder: String) -> SingletonJob {
                SingletonJob(
                    name: "job",
                    holder: holder,
                    store: store,
                    ttl: .milliseconds(300),
                    logger: Logger(label: holder)
                ) {
                    running.withLock { set in
                        set.insert(holder)
                        if set.count > 1 { overlap.withLock { $0 = true } }
                    }
                    defer { running.withLock { _ = $0.remove(holder) } }
                    while !Task.isCancelled { try await Task.sleep(for: .milliseconds(20)) }
                }
            }
            let jobA = job("a")
            let jobB = job("b")
            let first = Task { try await jobA.run() }
            let second = Task { try await jobB.run() }
            defer {
                first.cancel()
                second.cancel()
            }
            #expect(await eventually { running.withLock { $0.count == 1 } })
            try await Task.sleep(for: .milliseconds(700))  // two lease periods: nobody else starts
            let holder = try #require(running.withLock { $0.first })
            (holder == "a" ? first : second).cancel()
            let other = holder == "a" ? "b" : "a"
            #expect(await eventually(timeout: .seconds(3)) { running.withLock { $0 == [other] } })
            let overlapped = overlap.withLock { $0 }
            #expect(!overlapped, "both ran at once")
        }
    }
}
