import Foundation
import Logging
import SwarmCore
// why: contracts take SwarmStore backends and are Swift Testing arguments (CustomTestStringConvertible).
public import SwarmStore
import SwarmStoreSQLite
import Synchronization
public import Testing

/// What every ``StoreBackend`` must do, as named contracts that each backend's tests run.
///
/// Each contract gets a fresh, empty database and asserts with `#expect`/`#require`. A backend's
/// test target runs them all with one parameterized test:
///
/// ```swift
/// @Test(arguments: StoreConformance.contracts)
/// func sqlite(_ contract: StoreConformance.Contract) async throws { try await contract.check(.sqlite) }
/// ```
///
/// A second backend is one more such line with its own ``Backend`` (e.g. `.postgres(url)` built
/// on its fixtures). Contracts speak only the store protocols, so they hold for every backend.
public enum StoreConformance {
    /// Every contract, grouped by protocol.
    public static let contracts: [Contract] =
        agentContracts + testContracts + assignmentContracts + batchContracts + measurementContracts
        + rollupContracts + serverContracts + leaseContracts + accountContracts + inventoryContracts + changeContracts
        + alertContracts + reportContracts

    /// One named behaviour, checked against a fresh database of a backend.
    public struct Contract: Sendable, Identifiable, CustomTestStringConvertible {
        /// The contract's name: `area: behaviour`. Unique, so a failure names what broke.
        public let id: String
        let body: @Sendable (Subject) async throws -> Void

        init(_ id: String, _ body: @escaping @Sendable (Subject) async throws -> Void) {
            self.id = id
            self.body = body
        }

        public var testDescription: String { id }

        /// Runs the contract against a fresh, empty database of `backend`.
        public func check(_ backend: Backend) async throws {
            try await backend.withDatabase { open in
                try await body(Subject(store: try await open(), openAnother: open))
            }
        }
    }

    /// What a contract works on.
    public struct Subject: Sendable {
        /// A handle on the fresh database.
        public let store: any StoreBackend
        /// Opens another handle on the same database, as a second process would.
        public let openAnother: @Sendable () async throws -> any StoreBackend
    }

    /// How the suite gets databases of one backend.
    public struct Backend: Sendable {
        /// Opens a handle on the database `withDatabase` made; call it again for another handle.
        public typealias Opener = @Sendable () async throws -> any StoreBackend

        public var name: String
        /// Makes a fresh, empty database, runs `body` with a way to open handles on it, and removes
        /// the database afterwards in every path.
        public var withDatabase:
            @Sendable (_ body: @Sendable (_ open: @escaping Opener) async throws -> Void) async throws -> Void

        public init(
            name: String,
            withDatabase:
                @escaping @Sendable (_ body: @Sendable (_ open: @escaping Opener) async throws -> Void)
                async throws -> Void
        ) {
            self.name = name
            self.withDatabase = withDatabase
        }
    }
}

extension StoreConformance.Backend {
    /// SQLite files in a temporary directory. Each handle reads the change log every 20 ms, so
    /// the cross-process contract does not wait on the 250 ms default.
    public static var sqlite: Self {
        Self(name: "sqlite") { body in
            try await withTemporaryDirectory { dir in
                try await body {
                    var configuration = SQLiteStore.Configuration(path: "\(dir)/conformance.sqlite")
                    configuration.changePollInterval = .milliseconds(20)
                    return try SQLiteStore(configuration: configuration, logger: Logger(label: "conformance.sqlite"))
                }
            }
        }
    }
}

// MARK: - Fixtures the contracts share

extension StoreConformance {
    static let alpha = AgentName.fixture("alpha")
    static let beta = AgentName.fixture("beta")
    static let gamma = AgentName.fixture("gamma")

    /// A spec every backend accepts: the system probe needs no target.
    static func spec(_ name: String, interval: Duration = .seconds(60)) -> TestSpec {
        TestSpec(name: name, probes: [.system], schedule: .init(interval: interval))
    }

    /// A tcp spec with a target, for searches by host.
    static func tcpSpec(_ name: String, host: String) -> TestSpec {
        TestSpec(name: name, probes: [.tcp], target: .init(host: host, port: 443))
    }

    /// Records a session start for `agent`, which brings it online (and into the store).
    static func connect(
        _ store: any Store,
        _ agent: AgentName,
        session: String = "s1",
        serial: String = "",
        at: Timestamp = .now()
    ) async throws {
        try await store.recordSessionStart(
            SessionStart(
                agent: agent,
                sessionID: session,
                agentVersion: "conformance",
                host: HostFacts(hostname: "\(agent.rawValue).example", cpuCount: 2),
                at: at,
                certificateSerial: serial
            )
        )
    }

    static func measurement(
        _ test: TestID,
        _ agent: AgentName,
        sequence: UInt64,
        at nanos: Int64,
        value: Double? = 1,
        kind: ProbeKind = .tcp,
        status: MeasurementStatus = .ok
    ) -> MeasurementRecord {
        MeasurementRecord(
            testID: test,
            revision: 1,
            agent: agent,
            sequence: sequence,
            kind: kind,
            startedAt: Timestamp(unixNanos: nanos),
            duration: .milliseconds(1),
            status: status,
            value: value,
            payload: Data([UInt8(truncatingIfNeeded: sequence), 2, 3])
        )
    }

    static func batch(_ agent: AgentName, _ id: UInt64, _ measurements: [MeasurementRecord]) -> IncomingBatch {
        IncomingBatch(agent: agent, batchID: id, measurements: measurements)
    }

    /// Expects `body` to throw a ``StoreError`` with `code`.
    static func expectStoreError(
        _ code: StoreError.Code,
        _ comment: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("expected StoreError \(code), nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            #expect(error.code == code, comment, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected StoreError \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }
}

/// Every change a feed published while a scope ran, for contracts to wait on.
final class ChangeRecorder: Sendable {
    private let seen = Mutex<[StoreChange]>([])

    var changes: [StoreChange] { seen.withLock { $0 } }

    /// Subscribes to `feed` (before `body` runs, so no change is missed) and records until `body` ends.
    static func recording<T: Sendable>(
        _ feed: any ChangeFeed,
        _ body: @Sendable (ChangeRecorder) async throws -> T
    ) async throws -> T {
        let recorder = ChangeRecorder()
        let stream = feed.subscribe()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await change in stream { recorder.seen.withLock { $0.append(change) } }
            }
            defer { group.cancelAll() }
            return try await body(recorder)
        }
    }

    /// Whether `change` arrives within `timeout` (backends may deliver their own changes late).
    func sees(_ change: StoreChange, timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout: timeout) { self.changes.contains(change) }
    }

    /// How often `change` arrived so far.
    func count(_ change: StoreChange) -> Int { changes.filter { $0 == change }.count }
}
