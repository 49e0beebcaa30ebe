// why: the job is built from a Store and a Logger; the service is a ServiceLifecycle Service.
public import Logging
public import ServiceLifecycle
public import SwarmStore

/// Alerting as one job: the evaluator and the notification dispatcher side by side. The CLI runs
/// it under a `SingletonJob` lease, so one server of those sharing a store evaluates and delivers.
public enum Alerting {
    public struct Options: Sendable {
        public var evaluator = AlertEvaluator.Options()
        public var dispatcher = NotificationDispatcher.Options()
        public init() {}
    }

    /// Evaluates and delivers until cancelled.
    public static func run(store: any Store, logger: Logger, options: Options = Options()) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await AlertEvaluator(store: store, logger: logger, options: options.evaluator).run() }
            group.addTask {
                try await NotificationDispatcher(store: store, logger: logger, options: options.dispatcher).run()
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// Alerting as a Service for a process that is the only server (dev mode); shared stores run
/// ``Alerting/run(store:logger:options:)`` under a `SingletonJob` instead.
public struct AlertingService: Service {
    private let store: any Store
    private let logger: Logger
    private let options: Alerting.Options

    public init(store: any Store, logger: Logger, options: Alerting.Options = Alerting.Options()) {
        self.store = store
        self.logger = logger
        self.options = options
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            do {
                try await Alerting.run(store: store, logger: logger, options: options)
            } catch is CancellationError {}
        }
    }
}
