import Foundation
// why: the collector's API speaks SwarmCore's observations, connections and IDs, and gNMI encodings.
public import Logging
public import SwarmCore
public import SwarmGNMIProto
import Synchronization

/// Collects from one device for as long as its test runs: connect, Capabilities, then Subscribe
/// (STREAM, POLL or ONCE), folding updates into OpenConfig state and reporting one `gnmi`
/// observation per report interval. Any failure is reported with its specific reason and the
/// collector redials with backoff — after a device reboot, a GOAWAY, or a stream that went quiet
/// (a middlebox that dropped the connection without a FIN).
public struct DeviceCollector: Sendable {
    public var testID: TestID
    public var revision: Int
    public var deviceID: Int64
    public var connection: GNMIConnection
    /// One observation per interval while connected.
    public var reportInterval: Duration
    /// First and largest redial wait.
    public var backoffBase: Duration = .seconds(1)
    public var backoffCap: Duration = .seconds(60)
    public var logger: Logger

    public init(
        testID: TestID,
        revision: Int,
        deviceID: Int64,
        connection: GNMIConnection,
        reportInterval: Duration,
        logger: Logger
    ) {
        self.testID = testID
        self.revision = revision
        self.deviceID = deviceID
        self.connection = connection
        self.reportInterval = reportInterval > .zero ? reportInterval : .seconds(10)
        self.logger = logger
    }

    /// The longest silence a healthy stream allows: three of its shortest promised intervals
    /// (sample or heartbeat); nil when nothing promises regular updates.
    public var quietLimit: Duration? {
        let promised = connection.subscriptions.flatMap { s -> [Duration] in
            var intervals: [Duration] = []
            if s.mode == .sample, s.sampleInterval > .zero { intervals.append(s.sampleInterval) }
            if s.heartbeatInterval > .zero { intervals.append(s.heartbeatInterval) }
            return intervals
        }
        guard connection.mode == .stream, let shortest = promised.min() else { return nil }
        return shortest * 3
    }

    /// Runs until the task is cancelled; `emit` receives every observation.
    public func run(emit: @escaping @Sendable ([ProbeObservation]) async -> Void) async {
        var backoff = Backoff(base: backoffBase, cap: backoffCap)
        var lastKind: GNMIFailure.Kind?
        var logger = logger
        logger[metadataKey: "swarm.device"] = "\(connection.label)"
        while !Task.isCancelled {
            let attemptStarted = Timestamp.now()
            let gotData = DataFlag()
            let failure: GNMIFailure
            do throws(GNMIFailure) {
                try await collectOnce(emit: emit, gotData: gotData, logger: logger)
                failure = GNMIFailure(.streamEnded, "\(connection.label) ended the subscription; redialling")
            } catch {
                if Task.isCancelled { break }
                failure = error
            }
            if Task.isCancelled { break }
            if gotData.value.load(ordering: .relaxed) { backoff.reset() }
            if failure.kind != lastKind {
                logger.warning("gNMI collection failed: \(failure.message)")
                lastKind = failure.kind
            } else {
                logger.debug("gNMI collection failed again: \(failure.message)")
            }
            var snapshot = GNMISnapshot(
                deviceID: deviceID,
                deviceName: connection.name,
                deviceAddress: connection.address
            )
            snapshot.errorKind = failure.kind.rawValue
            await emit([
                ProbeObservation(
                    testID: testID,
                    revision: revision,
                    kind: .gnmi,
                    startedAt: attemptStarted,
                    duration: Timestamp.now() - attemptStarted,
                    status: failure.kind == .timeout ? .timeout : .failed,
                    reason: failure.message,
                    result: .gnmi(snapshot)
                )
            ])
            var wait = backoff.next()
            if failure.needsOperator { wait = max(wait, backoffCap / 2) }
            do { try await Task.sleep(for: wait) } catch { break }
        }
    }

    /// One connection: returns when the device ends the stream, throws the reason otherwise.
    func collectOnce(
        emit: @escaping @Sendable ([ProbeObservation]) async -> Void,
        gotData: DataFlag,
        logger: Logger
    ) async throws(GNMIFailure) {
        var subscriptions: [(GNMISubscription, Gnmi_Path)] = []
        for s in connection.subscriptions {
            do throws(GNMIError) {
                subscriptions.append((s, try GNMIPath.parse(s.path)))
            } catch {
                throw GNMIFailure(.badConfiguration, "subscription path: \(error.message)")
            }
        }
        let collector = self
        try await GNMISession.withSession(connection, logger: logger) { session in
            let asked = ContinuousClock.now
            let capabilities = try await session.capabilities()
            let latency = ContinuousClock.now - asked
            try collector.checkEncoding(capabilities)
            let state = SharedState(capabilities: Self.capabilities(capabilities), latency: latency)
            let models = capabilities.supportedModels.count
            let millis = String(format: "%.1f ms", latency.microseconds / 1000)
            logger.info("connected: gNMI \(capabilities.gNmiVersion), \(models) models, Capabilities in \(millis)")
            switch collector.connection.mode {
            case .stream, .poll:
                let list = collector.subscriptionList(
                    subscriptions,
                    mode: collector.connection.mode == .poll ? .poll : .stream
                )
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await session.subscribe(
                            list,
                            pollInterval: collector.connection.mode == .poll ? collector.connection.pollInterval : nil
                        ) { response in
                            try collector.handle(response, state: state)
                            gotData.value.store(true, ordering: .relaxed)
                        }
                    }
                    group.addTask { try await collector.report(state: state, emit: emit) }
                    if let limit = collector.quietLimit {
                        group.addTask { try await collector.watch(state: state, limit: limit) }
                    }
                    // The first task to finish (the stream ending, or the watchdog) ends the connection.
                    defer { group.cancelAll() }
                    do {
                        _ = try await group.next()
                    } catch {
                        // Updates received since the last report are not lost with the connection.
                        await collector.flush(state: state, emit: emit)
                        throw error
                    }
                    await collector.flush(state: state, emit: emit)
                }
            case .once:
                let list = collector.subscriptionList(subscriptions, mode: .once)
                while !Task.isCancelled {
                    let started = Timestamp.now()
                    try await session.subscribe(list) { response in
                        try collector.handle(response, state: state)
                    }
                    gotData.value.store(true, ordering: .relaxed)
                    await emit([collector.observation(state: state, startedAt: started)])
                    try await Task.sleep(for: collector.reportInterval)
                }
            }
        }
    }

    /// Refuses up front when the device does not list the encoding we would subscribe with.
    func checkEncoding(_ capabilities: Gnmi_CapabilityResponse) throws(GNMIFailure) {
        let wanted = Self.protoEncoding(connection.encoding)
        let supported = capabilities.supportedEncodings
        guard !supported.isEmpty, !supported.contains(wanted) else { return }
        let names = supported.map { Self.encodingName($0) }.joined(separator: ", ")
        throw GNMIFailure(
            .unsupportedEncoding,
            "\(connection.label) does not support encoding \(connection.encoding.rawValue) (it offers \(names)); "
                + "set the device's encoding to one of those"
        )
    }

    func subscriptionList(
        _ subscriptions: [(GNMISubscription, Gnmi_Path)],
        mode: Gnmi_SubscriptionList.Mode
    )
        -> Gnmi_SubscriptionList
    {
        var list = Gnmi_SubscriptionList()
        list.mode = mode
        list.encoding = Self.protoEncoding(connection.encoding)
        list.subscription = subscriptions.map { s, path in
            var sub = Gnmi_Subscription()
            sub.path = path
            sub.mode =
                switch s.mode {
                case .sample: .sample
                case .onChange: .onChange
                case .targetDefined: .targetDefined
                }
            sub.sampleInterval = UInt64(max(0, s.sampleInterval.nanoseconds))
            sub.heartbeatInterval = UInt64(max(0, s.heartbeatInterval.nanoseconds))
            sub.suppressRedundant = s.suppressRedundant
            return sub
        }
        return list
    }

    func handle(_ response: Gnmi_SubscribeResponse, state: SharedState) throws {
        switch response.response {
        case .update(let notification):
            state.apply(notification)
        case .syncResponse:
            state.sawActivity()
        case .error(let error):
            throw GNMIFailure(
                .deviceError,
                "\(connection.label) reported an error: \(error.code) \(error.message); "
                    + "the device's gNMI log says why (redialling)"
            )
        case nil:
            break
        }
    }

    /// Reports what arrived since the last report, if anything did (before a connection ends).
    func flush(state: SharedState, emit: @escaping @Sendable ([ProbeObservation]) async -> Void) async {
        guard state.pendingUpdates > 0 else { return }
        await emit([observation(state: state, startedAt: state.lastReportAt)])
    }

    private func report(state: SharedState, emit: @escaping @Sendable ([ProbeObservation]) async -> Void) async throws {
        while true {
            try await Task.sleep(for: reportInterval)
            await emit([observation(state: state, startedAt: state.lastReportAt)])
        }
    }

    private func watch(state: SharedState, limit: Duration) async throws {
        while true {
            try await Task.sleep(for: limit / 3)
            let silent = ContinuousClock.now - state.lastActivity
            if silent > limit {
                throw GNMIFailure(
                    .quietStream,
                    "\(connection.label) sent nothing for \(Self.seconds(silent)) although its subscriptions promise an "
                        + "update at least every \(Self.seconds(limit / 3)) (a middlebox may have dropped the connection); "
                        + "redialling"
                )
            }
        }
    }

    func observation(state: SharedState, startedAt: Timestamp) -> ProbeObservation {
        let snapshot = state.snapshot(deviceID: deviceID, connection: connection)
        return ProbeObservation(
            testID: testID,
            revision: revision,
            kind: .gnmi,
            startedAt: startedAt,
            duration: Timestamp.now() - startedAt,
            status: .ok,
            result: .gnmi(snapshot)
        )
    }

    static func seconds(_ d: Duration) -> String { String(format: "%.1f s", d.seconds) }

    public static func protoEncoding(_ e: GNMIConnection.Encoding) -> Gnmi_Encoding {
        switch e {
        case .jsonIETF: .jsonIetf
        case .json: .json
        case .proto: .proto
        case .ascii: .ascii
        case .bytes: .bytes
        }
    }

    static func encodingName(_ e: Gnmi_Encoding) -> String {
        switch e {
        case .json: "json"
        case .bytes: "bytes"
        case .proto: "proto"
        case .ascii: "ascii"
        case .jsonIetf: "json_ietf"
        case .UNRECOGNIZED(let n): "encoding \(n)"
        }
    }

    static func capabilities(_ c: Gnmi_CapabilityResponse) -> GNMISnapshot.Capabilities {
        GNMISnapshot.Capabilities(
            models: c.supportedModels.map { .init(name: $0.name, organization: $0.organization, version: $0.version) },
            encodings: c.supportedEncodings.map { encodingName($0) },
            version: c.gNmiVersion
        )
    }
}

/// Set once a connection delivered data, so the next outage starts its backoff from the base.
final class DataFlag: Sendable {
    let value = Atomic(false)
}

/// The state one connection's subscriber, reporter and watchdog share.
final class SharedState: Sendable {
    private struct Inner {
        var state = OpenConfigState()
        var capabilities: GNMISnapshot.Capabilities?
        var latency: Duration?
        var lastActivity = ContinuousClock.now
        var lastReportAt = Timestamp.now()
    }
    private let inner: Mutex<Inner>

    init(capabilities: GNMISnapshot.Capabilities, latency: Duration) {
        inner = Mutex(Inner(capabilities: capabilities, latency: latency))
    }

    func apply(_ notification: Gnmi_Notification) {
        inner.withLock {
            $0.state.apply(notification)
            $0.lastActivity = .now
        }
    }

    /// A sync response proves the stream alive too.
    func sawActivity() { inner.withLock { $0.lastActivity = .now } }

    var lastActivity: ContinuousClock.Instant { inner.withLock { $0.lastActivity } }
    /// When the interval the next report covers began.
    var lastReportAt: Timestamp { inner.withLock { $0.lastReportAt } }
    var pendingUpdates: Int { inner.withLock { $0.state.pendingUpdates } }

    func snapshot(deviceID: Int64, connection: GNMIConnection) -> GNMISnapshot {
        inner.withLock {
            var s = $0.state.takeSnapshot(deviceID: deviceID, deviceName: connection.name, address: connection.address)
            // Capabilities and the RPC latency ride on the first report after each connect.
            s.capabilities = $0.capabilities
            s.rpcLatency = $0.latency
            $0.capabilities = nil
            $0.lastReportAt = .now()
            return s
        }
    }
}
