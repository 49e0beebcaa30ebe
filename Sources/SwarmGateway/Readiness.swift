import Foundation
import Hummingbird
import NIOCore
import SwarmStore
import Synchronization

/// One thing `/readyz` waits for besides the store (the mesh listener of the same process):
/// `check` answers nil when ready, else why not, in words an operator acts on.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var check: @Sendable () async -> String?

    public init(name: String, check: @escaping @Sendable () async -> String?) {
        self.name = name
        self.check = check
    }

    /// Ready once `set()` was called on the returned flag (a listener reporting that it is up).
    public static func flag(_ name: String, notYet reason: String) -> (ReadinessCheck, ReadinessFlag) {
        let flag = ReadinessFlag()
        return (ReadinessCheck(name: name) { flag.isSet ? nil : reason }, flag)
    }
}

public final class ReadinessFlag: Sendable {
    private let state = Mutex(false)
    public func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }
}

/// `/healthz` (the process answers) and `/readyz` (the store answers a read within 2 s and every
/// check passes), unauthenticated, for load balancers and service managers.
enum Readiness {
    static let timeout = Duration.seconds(2)

    struct Body: Encodable {
        var status: String
        var checks: [String: String]
    }

    static func add(to router: Router<GatewayContext>, store: any Store, checks: [ReadinessCheck], version: String) {
        router.get("/healthz") { _, _ in
            try JSONResponse.make(["status": "ok", "version": version])
        }
        router.get("/readyz") { _, _ in
            let store = ReadinessCheck(name: "store") {
                do {
                    _ = try await store.setting("readiness.probe")
                    return nil
                } catch {
                    return "the store does not answer: \(error)"
                }
            }
            var results: [String: String] = [:]
            await withTaskGroup(of: (String, String?).self) { group in
                for check in [store] + checks {
                    group.addTask { (check.name, await within(timeout, check)) }
                }
                for await (name, failure) in group { results[name] = failure ?? "ok" }
            }
            let ready = results.values.allSatisfy { $0 == "ok" }
            return try JSONResponse.make(
                Body(status: ready ? "ready" : "not ready", checks: results),
                status: ready ? .ok : .serviceUnavailable
            )
        }
    }

    /// The check's answer, or a failure when it takes longer than `limit`.
    static func within(_ limit: Duration, _ check: ReadinessCheck) async -> String? {
        await withTaskGroup(of: String??.self) { group in
            group.addTask { .some(await check.check()) }
            group.addTask {
                try? await Task.sleep(for: limit)
                return .none
            }
            let first = await group.next() ?? .none
            group.cancelAll()
            return first ?? "\(check.name) did not answer within \(limit)"
        }
    }
}
