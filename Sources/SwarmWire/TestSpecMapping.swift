import Foundation
import SwarmCore
import SwarmProto

/// Maps ``TestSpec`` to and from `streamswarm.mesh.v1.TestSpec`.
enum TestSpecMapping {
    static func proto(_ spec: TestSpec) -> Streamswarm_Mesh_V1_TestSpec {
        var m = Streamswarm_Mesh_V1_TestSpec()
        m.name = spec.name
        m.probes = spec.probes.map { kind in
            var probe = Streamswarm_Mesh_V1_Probe()
            probe.kind = MeshCodec.probeKind(kind)
            setProbeOptions(&probe, kind: kind, from: spec.options)
            return probe
        }
        var target = Streamswarm_Mesh_V1_Target()
        target.host = spec.target.host
        target.port = UInt32(clamping: spec.target.port)
        target.url = spec.target.url
        target.agentName = spec.target.agentName
        target.family =
            switch spec.target.family {
            case .any: .any
            case .ipv4: .ipv4
            case .ipv6: .ipv6
            }
        m.target = target
        var schedule = Streamswarm_Mesh_V1_Schedule()
        schedule.intervalMs = UInt32(clamping: spec.schedule.interval.milliseconds)
        schedule.count = UInt32(clamping: spec.schedule.count)
        schedule.timeoutMs = UInt32(clamping: spec.schedule.timeout.milliseconds)
        schedule.startUnixNanos = spec.schedule.start?.unixNanos ?? 0
        schedule.endUnixNanos = spec.schedule.end?.unixNanos ?? 0
        schedule.randomStartOffset = spec.schedule.randomStartOffset
        m.schedule = schedule
        var options = Streamswarm_Mesh_V1_CommonOptions()
        options.packetSize = UInt32(clamping: spec.options.packetSize)
        options.dscp = UInt32(clamping: spec.options.dscp)
        options.sourceAddress = spec.options.sourceAddress
        options.interface = spec.options.interface
        m.options = options
        var recurrence = Streamswarm_Mesh_V1_Recurrence()
        recurrence.mode =
            switch spec.recurrence.mode {
            case .none: .none
            case .continue: .continue
            case .new: .new
            }
        recurrence.intervalMs = UInt32(clamping: spec.recurrence.interval.milliseconds)
        m.recurrence = recurrence
        return m
    }

    static func spec(_ m: Streamswarm_Mesh_V1_TestSpec) -> TestSpec {
        var options = TestSpec.Options(
            packetSize: Int(m.options.packetSize),
            dscp: Int(m.options.dscp),
            sourceAddress: m.options.sourceAddress,
            interface: m.options.interface
        )
        for probe in m.probes { readProbeOptions(probe, into: &options) }
        let family: TestSpec.AddressFamily =
            switch m.target.family {
            case .ipv4: .ipv4
            case .ipv6: .ipv6
            default: .any
            }
        let mode: TestSpec.Recurrence.Mode =
            switch m.recurrence.mode {
            case .continue: .continue
            case .new: .new
            default: .none
            }
        return TestSpec(
            name: m.name,
            probes: m.probes.compactMap { MeshCodec.probeKind($0.kind) },
            target: TestSpec.Target(
                host: m.target.host,
                port: Int(m.target.port),
                family: family,
                url: m.target.url,
                agentName: m.target.agentName
            ),
            schedule: TestSpec.Schedule(
                interval: .milliseconds(Int64(m.schedule.intervalMs)),
                count: Int(max(1, m.schedule.count)),
                timeout: .milliseconds(Int64(max(1, m.schedule.timeoutMs))),
                start: m.schedule.startUnixNanos == 0 ? nil : Timestamp(unixNanos: m.schedule.startUnixNanos),
                end: m.schedule.endUnixNanos == 0 ? nil : Timestamp(unixNanos: m.schedule.endUnixNanos),
                randomStartOffset: m.schedule.randomStartOffset
            ),
            options: options,
            recurrence: TestSpec.Recurrence(mode: mode, interval: .milliseconds(Int64(m.recurrence.intervalMs)))
        )
    }
}
