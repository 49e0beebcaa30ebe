// why: a Service the CLI adds to its ServiceGroup; it takes a LeaseStore and a Logger.
public import Logging
public import ServiceLifecycle
import SwarmCore
public import SwarmStore

/// Runs `job` on one server at a time among those sharing the store: only while this server holds
/// the lease `name`, renewed every third of `ttl`. When the holder dies (stops renewing), another
/// server takes the lease within `ttl` and starts the job; a holder that loses the lease (its
/// store unreachable for longer than `ttl`) stops its job at once, so two never overlap for long.
public struct SingletonJob: Service {
    private let name: String
    private let holder: String
    private let store: any LeaseStore
    private let ttl: Duration
    private let logger: Logger
    private let job: @Sendable () async throws -> Void

    public init(
        name: String,
        holder: String,
        store: any LeaseStore,
        ttl: Duration = .seconds(15),
        logger: Logger,
        job: @escaping @Sendable () async throws -> Void
    ) {
        self.name = name
        self.holder = holder
        self.store = store
        self.ttl = ttl
        self.logger = logger
        self.job = job
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
        try? await store.releaseLease(name, holder: holder)
    }

    private func loop() async {
        while !Task.isCancelled {
            guard await holdLease() else {
                do { try await Task.sleep(for: ttl / 3) } catch { return }
                continue
            }
            logger.info("\(name): this server holds the lease and runs it")
            // The job runs beside a renewer; losing the lease cancels the job.
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do { try await job() } catch  where !(error is CancellationError) {
                        logger.warning("\(name) stopped: \(error)")
                    } catch {}
                }
                while !Task.isCancelled {
                    do { try await Task.sleep(for: ttl / 3) } catch { break }
                    if !(await holdLease()) {
                        logger.warning("\(name): lease lost (another server took it, or the store was unreachable)")
                        break
                    }
                }
                group.cancelAll()
            }
        }
    }

    private func holdLease() async -> Bool {
        let now = Timestamp.now()
        do {
            return try await store.acquireLease(name, holder: holder, until: now + ttl, now: now)
        } catch {
            logger.warning("\(name): could not renew the lease: \(error)")
            return false
        }
    }
}
