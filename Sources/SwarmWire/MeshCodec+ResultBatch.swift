import Foundation
import SwarmCore
import SwarmProto

extension MeshCodec {
    /// Decodes a frame whose body is a `ResultBatch` straight from the wire bytes: each result is
    /// kept as the bytes that arrived (parsed once, to validate it and read its headline value)
    /// instead of the whole batch being built into messages and every result serialized again.
    ///
    /// - Returns: nil when the frame is not a plain ResultBatch frame or is malformed; the general
    ///   path then decodes it and reports any error.
    static func decodeResultBatchFast(_ bytes: UnsafeRawBufferPointer) -> Mesh.ResultBatch? {
        var frame = ProtoWireScanner(bytes, range: 0..<bytes.count)
        var batchRange: Range<Int>?
        do {
            while let (field, value) = try frame.next() {
                guard field == 8, case .bytes(let range) = value, batchRange == nil else { return nil }
                batchRange = range
            }
        } catch {
            return nil
        }
        guard let batchRange else { return nil }
        var batchID: UInt64 = 0
        var created: Int64 = 0
        var items: [Range<Int>] = []
        var batch = ProtoWireScanner(bytes, range: batchRange)
        do {
            while let (field, value) = try batch.next() {
                switch (field, value) {
                case (1, .varint(let v)): batchID = v
                case (3, .varint(let v)): created = Int64(bitPattern: v)
                case (2, .bytes(let range)): items.append(range)
                case (1, _), (2, _), (3, _): return nil
                default: continue  // unknown fields from newer agents
                }
            }
        } catch {
            return nil
        }
        var measurements: [Mesh.Measurement] = []
        measurements.reserveCapacity(items.count)
        for item in items {
            do {
                measurements.append(try scanMeasurement(bytes, range: item))
            } catch {
                return Mesh.ResultBatch(
                    batchID: batchID,
                    measurements: [],
                    createdAt: Timestamp(unixNanos: created),
                    invalidReason: error.message
                )
            }
        }
        return Mesh.ResultBatch(batchID: batchID, measurements: measurements, createdAt: Timestamp(unixNanos: created))
    }

    /// One `Measurement` from its wire bytes, with the same checks as the general path.
    private static func scanMeasurement(
        _ bytes: UnsafeRawBufferPointer,
        range: Range<Int>
    ) throws(WireError) -> Mesh.Measurement {
        var testID: Int64 = 0
        var revision: UInt64 = 0
        var sequence: UInt64 = 0
        var kindValue: UInt64 = 0
        var started: Int64 = 0
        var duration: Int64 = 0
        var statusValue: UInt64 = 0
        var reason = ""
        var result: (field: Int, range: Range<Int>)?
        var scanner = ProtoWireScanner(bytes, range: range)
        do {
            while let (field, value) = try scanner.next() {
                switch (field, value) {
                case (1, .varint(let v)): testID = Int64(bitPattern: v)
                case (2, .varint(let v)): revision = v
                case (3, .varint(let v)): sequence = v
                case (4, .varint(let v)): kindValue = v
                case (5, .varint(let v)): started = Int64(bitPattern: v)
                case (6, .varint(let v)): duration = Int64(bitPattern: v)
                case (7, .varint(let v)): statusValue = v
                case (8, .bytes(let text)):
                    guard let decoded = String(validating: UnsafeRawBufferPointer(rebasing: bytes[text]), as: UTF8.self)
                    else {
                        throw WireError(
                            code: .invalidField,
                            message: "measurement \(sequence) has a reason that is not UTF-8"
                        )
                    }
                    reason = decoded
                case (20...29, .bytes(let slice)): result = (field, slice)
                case (1...8, _), (20...29, _):
                    throw WireError(
                        code: .invalidField,
                        message: "measurement \(sequence) has a field of the wrong wire type"
                    )
                default: continue  // unknown fields from newer agents
                }
            }
        } catch let error as WireError {
            throw error
        } catch {
            throw WireError(code: .malformedPayload, message: "measurement \(sequence) is not valid protobuf")
        }
        guard let kind = Streamswarm_Mesh_V1_ProbeKind(rawValue: Int(truncatingIfNeeded: kindValue)).flatMap(probeKind)
        else {
            throw WireError(
                code: .invalidField,
                message: "measurement \(sequence) has no known probe kind (\(kindValue))"
            )
        }
        guard
            let status = Streamswarm_Mesh_V1_MeasurementStatus(rawValue: Int(truncatingIfNeeded: statusValue)).flatMap(
                self.status
            )
        else { throw WireError(code: .invalidField, message: "measurement \(sequence) has no known status") }
        guard testID > 0 else {
            throw WireError(code: .invalidField, message: "measurement \(sequence) has no test id")
        }
        var payload = Data()
        var value: Double?
        var figures = MeasurementFigures()
        if let result {
            guard let resultKind = resultKind(field: result.field), resultKind == kind else {
                let carried = resultKind(field: result.field).map(\.rawValue) ?? "unknown"
                throw WireError(
                    code: .invalidField,
                    message: "measurement \(sequence) says kind \(kind) but carries a \(carried) result"
                )
            }
            payload = Data(UnsafeRawBufferPointer(rebasing: bytes[result.range]))
            var parsed = Streamswarm_Mesh_V1_Measurement()
            do {
                try MeasurementEncoding.setResult(&parsed, kind: kind, payload: payload)
            } catch {
                throw WireError(
                    code: .malformedPayload,
                    message: "measurement \(sequence) has a \(kind) result that does not parse"
                )
            }
            value = MeasurementEncoding.headlineValue(of: parsed)
            figures = MeasurementEncoding.figures(of: parsed)
        }
        return Mesh.Measurement(
            testID: TestID(testID),
            revision: Int(truncatingIfNeeded: revision),
            sequence: sequence,
            kind: kind,
            startedAt: Timestamp(unixNanos: started),
            duration: .nanoseconds(duration),
            status: status,
            reason: reason,
            value: value,
            figures: figures,
            payload: payload
        )
    }

    /// The probe kind of each `Measurement.result` oneof field number (measurement.proto).
    private static func resultKind(field: Int) -> ProbeKind? {
        switch field {
        case 20: .icmp
        case 21: .udp
        case 22: .tcp
        case 23: .dns
        case 24: .http
        case 25: .traceroute
        case 26: .mtu
        case 27: .bandwidth
        case 28: .system
        case 29: .gnmi
        default: nil
        }
    }
}
