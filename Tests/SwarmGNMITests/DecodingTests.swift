import Foundation
import SwarmCore
import SwarmGNMI
import SwarmGNMIProto
import SwiftProtobuf
import Testing

@Suite("gNMI paths")
struct GNMIPathTests {
    @Test("paths parse into elements and keys, and print back the same")
    func roundTrip() throws {
        let path = try GNMIPath.parse("openconfig:/interfaces/interface[name=Ethernet1/1]/state/counters")
        #expect(path.origin == "openconfig")
        #expect(path.elem.map(\.name) == ["interfaces", "interface", "state", "counters"])
        #expect(path.elem[1].key == ["name": "Ethernet1/1"])
        #expect(GNMIPath.format(path) == "openconfig:/interfaces/interface[name=Ethernet1/1]/state/counters")
        let queue = try GNMIPath.parse(
            "/qos/interfaces/interface[interface-id=*]/output/queues/queue[name=a\\]b]/state"
        )
        #expect(queue.elem[5].key == ["name": "a]b"])
        #expect(
            GNMIPath.format(queue) == "/qos/interfaces/interface[interface-id=*]/output/queues/queue[name=a\\]b]/state"
        )
        #expect(try GNMIPath.parse("/").elem.isEmpty)
    }

    @Test("malformed paths are refused with the reason")
    func malformed() {
        let noSlash = #expect(throws: GNMIError.self) { try GNMIPath.parse("interfaces") }
        #expect(noSlash?.code == .invalidPath)
        #expect(throws: GNMIError.self) { try GNMIPath.parse("/interfaces/interface[name=eth0") }
        #expect(throws: GNMIError.self) { try GNMIPath.parse("/interfaces/interface[name]") }
        do {
            _ = try GNMIPath.parse("/a[k=v]x/b")
            Issue.record("accepted text after a key")
        } catch {
            #expect(error.message.contains("/a[k=v]x/b"))
        }
    }
}

@Suite("gNMI TypedValue decoding")
struct GNMIValueTests {
    func typed(_ build: (inout Gnmi_TypedValue) -> Void) -> Gnmi_TypedValue {
        var v = Gnmi_TypedValue()
        build(&v)
        return v
    }

    @Test("every TypedValue form decodes, including legacy float and decimal")
    func everyForm() throws {
        #expect(try GNMIValue(typed { $0.stringVal = "UP" }) == .string("UP"))
        #expect(try GNMIValue(typed { $0.intVal = -5 }) == .int(-5))
        #expect(try GNMIValue(typed { $0.uintVal = UInt64.max }).counter == UInt64.max)
        #expect(try GNMIValue(typed { $0.boolVal = true }) == .bool(true))
        #expect(try GNMIValue(typed { $0.bytesVal = Data([1, 2]) }) == .bytes(Data([1, 2])))
        #expect(try GNMIValue(typed { $0.floatVal = 2.5 }).number == 2.5)
        #expect(try GNMIValue(typed { $0.doubleVal = 99.25 }).number == 99.25)
        var decimal = Gnmi_Decimal64()
        decimal.digits = 1234
        decimal.precision = 2
        let d = try GNMIValue(typed { $0.decimalVal = decimal })
        #expect(d == .decimal(digits: 1234, precision: 2))
        #expect(abs((d.number ?? 0) - 12.34) < 1e-9)
        var list = Gnmi_ScalarArray()
        list.element = [typed { $0.uintVal = 1 }, typed { $0.stringVal = "x" }]
        #expect(try GNMIValue(typed { $0.leaflistVal = list }) == .list([.uint(1), .string("x")]))
        var any = Google_Protobuf_Any()
        any.typeURL = "type.googleapis.com/vendor.Counter"
        any.value = Data([8, 1])
        #expect(try GNMIValue(typed { $0.anyVal = any }) == .any(typeURL: any.typeURL, value: Data([8, 1])))
        #expect(try GNMIValue(typed { $0.asciiVal = "42" }).counter == 42)
        #expect(try GNMIValue(typed { $0.protoBytes = Data([9]) }) == .protoBytes(Data([9])))
        // JSON: numbers; JSON_IETF: 64-bit integers as strings (RFC 7951), exact above 2^53.
        #expect(try GNMIValue(typed { $0.jsonVal = Data("18446744073709551615".utf8) }).counter == UInt64.max)
        #expect(
            try GNMIValue(typed { $0.jsonIetfVal = Data("\"9007199254740993\"".utf8) }).counter == 9_007_199_254_740_993
        )
        #expect(try GNMIValue(typed { $0.jsonIetfVal = Data("\"UP\"".utf8) }).text == "UP")
        #expect(try GNMIValue(typed { $0.jsonVal = Data("true".utf8) }).text == "true")
        let empty = #expect(throws: GNMIError.self) { try GNMIValue(Gnmi_TypedValue()) }
        #expect(empty?.code == .undecodableValue)
        #expect(throws: GNMIError.self) { try GNMIValue(typed { $0.jsonIetfVal = Data("{oops".utf8) }) }
    }
}

@Suite("OpenConfig mapping")
struct OpenConfigStateTests {
    func update(_ path: String, _ value: Gnmi_TypedValue) throws -> Gnmi_Update {
        var u = Gnmi_Update()
        u.path = try GNMIPath.parse(path)
        u.val = value
        return u
    }

    func uint(_ n: UInt64) -> Gnmi_TypedValue {
        var v = Gnmi_TypedValue()
        v.uintVal = n
        return v
    }

    func notification(prefix: String, at seconds: Double, _ updates: [Gnmi_Update]) throws -> Gnmi_Notification {
        var n = Gnmi_Notification()
        n.prefix = try GNMIPath.parse(prefix)
        n.timestamp = Int64(seconds * 1e9)
        n.update = updates
        return n
    }

    @Test("counters under a prefix become rates and utilisation from port speed; a reset gives no rate")
    func counters() throws {
        var state = OpenConfigState()
        var speed = Gnmi_TypedValue()
        speed.stringVal = "openconfig-if-ethernet:SPEED_10GB"
        state.apply(
            try notification(
                prefix: "/interfaces/interface[name=et1]/ethernet/state",
                at: 1,
                [
                    try update("/port-speed", speed)
                ]
            )
        )
        let prefix = "/interfaces/interface[name=et1]/state/counters"
        state.apply(
            try notification(
                prefix: prefix,
                at: 100,
                [
                    try update("/in-octets", uint(1_000_000)), try update("/out-octets", uint(0)),
                    try update("/in-errors", uint(3)), try update("/out-discards", uint(4)),
                ]
            )
        )
        state.apply(
            try notification(
                prefix: prefix,
                at: 110,
                [
                    try update("/in-octets", uint(126_000_000)), try update("/out-octets", uint(12_500_000)),
                ]
            )
        )
        var s = state.takeSnapshot(deviceID: 7, deviceName: "r1", address: "192.0.2.1")
        #expect(s.updates == 7)
        let et1 = try #require(s.interfaces.first)
        #expect(et1.name == "et1")
        #expect(et1.speedBitsPerSecond == 10_000_000_000)
        #expect(et1.inBitsPerSecond == 100_000_000)  // 125 MB in 10 s
        #expect(et1.outBitsPerSecond == 10_000_000)
        #expect(et1.inUtilisationPercent == 1)
        #expect(et1.inErrors == 3 && et1.outDiscards == 4)
        state.apply(try notification(prefix: prefix, at: 120, [try update("/in-octets", uint(500))]))
        s = state.takeSnapshot(deviceID: 7, deviceName: "r1", address: "192.0.2.1")
        #expect(s.interfaces.first?.inBitsPerSecond == nil, "a counter that went down is a reset, not a rate")
        #expect(s.updates == 1)
    }

    @Test("a JSON_IETF container with module-qualified names flattens into CPU, memory and queues")
    func jsonContainers() throws {
        var state = OpenConfigState()
        var memory = Gnmi_TypedValue()
        memory.jsonIetfVal = Data(
            #"{"openconfig-system:physical":"8589934592","openconfig-system:free":"2147483648"}"#.utf8
        )
        var queues = Gnmi_TypedValue()
        queues.jsonIetfVal = Data(#"{"queue":[{"name":"BE","state":{"transmit-pkts":"900","dropped-pkts":"7"}}]}"#.utf8)
        var cpu = Gnmi_TypedValue()
        cpu.floatVal = 41.5
        var cpu2 = Gnmi_TypedValue()
        cpu2.intVal = 12
        state.apply(
            try notification(
                prefix: "/",
                at: 5,
                [
                    try update("/system/memory/state", memory),
                    try update("/qos/interfaces/interface[interface-id=et1]/output/queues", queues),
                    try update("/components/component[name=CPU0]/cpu/utilization/state/instant", cpu),
                    try update("/components/component[name=CPU1]/cpu/utilization/state/instant", cpu2),
                ]
            )
        )
        let s = state.takeSnapshot(deviceID: 1, deviceName: "", address: "a")
        #expect(s.memoryTotalBytes == 8 << 30)
        #expect(s.memoryUsedBytes == 6 << 30)
        #expect(s.cpuPercent == 41.5, "the busiest CPU")
        #expect(
            s.queues == [
                GNMISnapshot.Queue(interface: "et1", queue: "BE").with {
                    $0.transmittedPackets = 900
                    $0.droppedPackets = 7
                }
            ]
        )
        #expect(s.updates == 7, "6 mapped leaves and the queue's name key")
    }

    @Test("a delete removes the interface")
    func deletes() throws {
        var state = OpenConfigState()
        state.apply(
            try notification(
                prefix: "/interfaces/interface[name=et9]/state",
                at: 1,
                [
                    try update(
                        "/oper-status",
                        {
                            var v = Gnmi_TypedValue()
                            v.stringVal = "DOWN"
                            return v
                        }()
                    )
                ]
            )
        )
        #expect(state.takeSnapshot(deviceID: 1, deviceName: "", address: "a").interfaces.first?.operStatus == "DOWN")
        var n = Gnmi_Notification()
        n.delete = [try GNMIPath.parse("/interfaces/interface[name=et9]")]
        state.apply(n)
        #expect(state.takeSnapshot(deviceID: 1, deviceName: "", address: "a").interfaces.isEmpty)
    }
}

extension GNMISnapshot.Queue {
    func with(_ change: (inout Self) -> Void) -> Self {
        var copy = self
        change(&copy)
        return copy
    }
}
