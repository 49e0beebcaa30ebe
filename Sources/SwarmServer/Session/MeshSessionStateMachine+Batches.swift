import Logging
import SwarmCore
import SwarmStore
import SwarmWire

/// Result batches: the window, then commit, then ack (or the error that tells the agent what to do).
extension MeshSessionStateMachine {
    func admit(_ batch: Mesh.ResultBatch, active: inout Active) -> [Action] {
        let metadata: Logger.Metadata = [LogKey.batchID.rawValue: "\(batch.batchID)"]
        if let reason = batch.invalidReason {
            return [
                .log(.notice, "refused invalid batch \(batch.batchID): \(reason)", metadata),
                .send([
                    .error(
                        .init(
                            code: .invalidBatch,
                            message: "batch \(batch.batchID) refused: \(reason); it will never be stored, drop it",
                            fatal: false,
                            batchID: batch.batchID
                        )
                    )
                ]),
            ]
        }
        let busy: String? =
            if active.inFlight.contains(batch.batchID) {
                "batch \(batch.batchID) is already being stored; wait for its ack instead of sending it again"
            } else if active.inFlight.count >= configuration.maxInFlightBatches {
                "more than \(configuration.maxInFlightBatches) batches unacknowledged; wait for acks before sending more"
            } else {
                nil
            }
        if let busy {
            return [
                .log(.notice, "batch \(batch.batchID) refused: \(busy)", metadata),
                .send([.error(.init(code: .tooManyInFlight, message: busy, fatal: false, batchID: batch.batchID))]),
            ]
        }
        active.inFlight.insert(batch.batchID)
        return [
            .commit(
                IncomingBatch(
                    agent: peer.agent,
                    batchID: batch.batchID,
                    measurements: batch.measurements.map { $0.record(agent: peer.agent) }
                )
            )
        ]
    }

    func committed(_ result: BatchCommitResult, active: inout Active) -> [Action] {
        guard active.inFlight.remove(result.batchID) != nil else { return [] }
        var actions: [Action] = []
        if result.rejectedCount > 0 {
            actions.append(
                .log(
                    .notice,
                    "batch \(result.batchID): \(result.rejectedCount) measurements dropped: their tests are not assigned to this agent",
                    [LogKey.batchID.rawValue: "\(result.batchID)"]
                )
            )
        }
        if result.duplicate {
            actions.append(.log(.debug, "batch \(result.batchID) replayed; acked again, stored once", [:]))
        }
        actions.append(
            .send([
                .batchAck(
                    Mesh.BatchAck(batchID: result.batchID, storedCount: result.storedCount, duplicate: result.duplicate)
                )
            ])
        )
        return actions
    }

    func reused(_ batchID: UInt64, last: UInt64, active: inout Active) -> [Action] {
        guard active.inFlight.remove(batchID) != nil else { return [] }
        // Acking would make the agent delete measurements that were never stored.
        return [
            .log(
                .warning,
                "batch \(batchID) re-uses an id stored before with other measurements; the agent renumbers it",
                [LogKey.batchID.rawValue: "\(batchID)"]
            ),
            .send([
                .error(
                    .init(
                        code: .batchIDReused,
                        message: "batch id \(batchID) was stored before with other measurements; "
                            + "renumber the batch above \(last) and send it again",
                        fatal: false,
                        batchID: batchID,
                        lastBatchID: last
                    )
                )
            ]),
        ]
    }

    static func commitFailed(_ batchID: UInt64, _ reason: String, active: inout Active) -> [Action] {
        guard active.inFlight.remove(batchID) != nil else { return [] }
        return [
            .log(.error, "batch \(batchID) could not be stored: \(reason)", [:]),
            .send([
                .error(
                    .init(
                        code: .storeUnavailable,
                        message: "batch \(batchID) was not stored; keep it and resend later",
                        fatal: false,
                        batchID: batchID
                    )
                )
            ]),
        ]
    }
}
