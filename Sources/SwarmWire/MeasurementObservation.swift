// why: the observation is SwarmCore's, read off a SwarmCore measurement record.
public import SwarmCore

extension MeasurementRecord {
    /// The row as a typed observation; a result that cannot be decoded reads as none.
    public var observation: ProbeObservation {
        ProbeObservation(
            testID: testID,
            revision: revision,
            kind: kind,
            startedAt: startedAt,
            duration: duration,
            status: status,
            reason: reason,
            result: try? MeasurementEncoding.decodeResult(kind: kind, payload: payload)
        )
    }
}
