import Foundation
import GRPCCore
import SwarmGNMIProto
import SwarmTestSupport
import SwiftProtobuf
import Testing

/// Our gNMI subset against the names and numbers real devices use (shared/GNMI.md), checked with
/// another protobuf runtime: protoc (C++) decodes what we encode and encodes what we decode.
@Suite("gNMI wire contract", .enabled(if: Protoc.path != nil, "protoc not installed: run scripts/bootstrap.sh"))
struct GNMIWireTests {
    func protoc(_ mode: String, _ message: String, input: Data) throws -> Data {
        let output = try Protoc.run(mode, message, file: "gnmi/gnmi.proto", input: input)
        #expect(output.status == 0, "protoc: \(output.stderr)")
        return output.stdout
    }

    @Test("the service and method paths are gnmi.gNMI/Capabilities, Get and Subscribe (bidirectional)")
    func methods() {
        #expect(Gnmi_gNMI.descriptor.fullyQualifiedService == "gnmi.gNMI")
        #expect(Gnmi_gNMI.Method.Capabilities.descriptor.fullyQualifiedMethod == "gnmi.gNMI/Capabilities")
        #expect(Gnmi_gNMI.Method.Get.descriptor.fullyQualifiedMethod == "gnmi.gNMI/Get")
        #expect(Gnmi_gNMI.Method.Subscribe.descriptor.fullyQualifiedMethod == "gnmi.gNMI/Subscribe")
    }

    @Test("field numbers on the wire: double_val is 14, json_ietf_val 11, Notification.update 4")
    func fieldNumbers() throws {
        var value = Gnmi_TypedValue()
        value.doubleVal = 1.5
        #expect((try value.serializedBytes() as [UInt8]).first == 0x71 as UInt8)  // field 14, fixed64
        value.jsonIetfVal = Data("{}".utf8)
        #expect((try value.serializedBytes() as [UInt8]).first == 0x5A as UInt8)  // field 11, length-delimited
        var notification = Gnmi_Notification()
        notification.update = [Gnmi_Update()]
        #expect((try notification.serializedBytes() as [UInt8]).first == 0x22 as UInt8)  // field 4
    }

    @Test("protoc decodes a STREAM subscription we encode")
    func protocDecodesSubscribe() throws {
        var request = Gnmi_SubscribeRequest()
        var list = Gnmi_SubscriptionList()
        list.prefix.target = "leaf1"
        list.mode = .stream
        list.encoding = .jsonIetf
        list.qos.marking = 46
        var subscription = Gnmi_Subscription()
        var name = Gnmi_PathElem()
        name.name = "interface"
        name.key = ["name": "Ethernet1"]
        subscription.path.origin = "openconfig-interfaces"
        subscription.path.elem = [
            elem("interfaces"), name, elem("state"), elem("counters"),
        ]
        subscription.mode = .sample
        subscription.sampleInterval = 1_000_000_000
        subscription.suppressRedundant = true
        subscription.heartbeatInterval = 60_000_000_000
        list.subscription = [subscription]
        request.subscribe = list
        let text = String(
            decoding: try protoc("decode", "gnmi.SubscribeRequest", input: request.serializedData()),
            as: UTF8.self
        )
        for expected in [
            "target: \"leaf1\"", "mode: SAMPLE", "sample_interval: 1000000000", "suppress_redundant: true",
            "heartbeat_interval: 60000000000", "encoding: JSON_IETF", "marking: 46",
            "origin: \"openconfig-interfaces\"",
            "key: \"name\"", "value: \"Ethernet1\"",
        ] {
            #expect(text.contains(expected), "missing \(expected) in \(text)")
        }
    }

    @Test("we decode what protoc encodes: every TypedValue form, sync, and unknown fields from newer devices")
    func weDecodeProtocs() throws {
        let text = """
            update {
              timestamp: 1790000000000000000
              prefix { target: "leaf1" }
              update { path { elem { name: "a" } } val { double_val: 2.5 } }
              update { path { elem { name: "b" } } val { float_val: 1.25 } }
              update { path { elem { name: "c" } } val { decimal_val { digits: 12345 precision: 2 } } }
              update { path { elem { name: "d" } } val { json_ietf_val: "{\\"x\\":1}" } }
              update { path { elem { name: "e" } } val { uint_val: 18446744073709551615 } }
              update { path { elem { name: "f" } } val { leaflist_val { element { string_val: "x" } } } }
            }
            """
        var bytes = try protoc("encode", "gnmi.SubscribeResponse", input: Data(text.utf8))
        // A field this subset does not know (number 99, varint 7), as a newer device might send.
        bytes.append(contentsOf: [0x98, 0x06, 0x07])
        let response = try Gnmi_SubscribeResponse(serializedBytes: bytes)
        let updates = response.update.update
        #expect(response.update.timestamp == 1_790_000_000_000_000_000)
        #expect(response.update.prefix.target == "leaf1")
        #expect(updates.map(\.path.elem.first?.name) == ["a", "b", "c", "d", "e", "f"])
        #expect(updates[0].val.doubleVal == 2.5)
        #expect(updates[1].val.floatVal == 1.25)
        #expect(updates[2].val.decimalVal.digits == 12345 && updates[2].val.decimalVal.precision == 2)
        #expect(updates[3].val.jsonIetfVal == Data("{\"x\":1}".utf8))
        #expect(updates[4].val.uintVal == .max)
        #expect(updates[5].val.leaflistVal.element.first?.stringVal == "x")
        #expect(!response.unknownFields.data.isEmpty)

        let sync = try Gnmi_SubscribeResponse(
            serializedBytes: try protoc("encode", "gnmi.SubscribeResponse", input: Data("sync_response: true".utf8))
        )
        #expect(sync.syncResponse)
    }

    private func elem(_ name: String) -> Gnmi_PathElem {
        var elem = Gnmi_PathElem()
        elem.name = name
        return elem
    }
}
