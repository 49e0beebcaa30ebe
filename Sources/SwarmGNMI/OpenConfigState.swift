// why: snapshots are SwarmCore's GNMISnapshot.
public import SwarmCore
// why: notifications arrive as generated gNMI messages.
public import SwarmGNMIProto

/// The latest values of the OpenConfig leaves the `gnmi` measurement maps (GNMI.md), folded from
/// notifications as they arrive. Rates are computed per counter sample from the device's own
/// timestamps, so a report never depends on how samples and report ticks line up.
public struct OpenConfigState: Sendable {
    struct Counter: Sendable {
        var value: UInt64
        var at: Int64
    }

    struct InterfaceState: Sendable {
        var snapshot: GNMISnapshot.Interface
        var lastIn: Counter?
        var lastOut: Counter?
    }

    private var interfaces: [String: InterfaceState] = [:]
    private var cpuByComponent: [String: Double] = [:]
    private var memory: [String: UInt64] = [:]
    private var queues: [QueueKey: GNMISnapshot.Queue] = [:]
    private(set) var newestTimestamp: Int64 = 0
    /// Leaf updates since the last ``takeSnapshot(device:)``.
    public private(set) var pendingUpdates = 0

    struct QueueKey: Hashable, Sendable {
        var interface: String
        var queue: String
    }

    public init() {}

    /// Folds one notification in; returns the number of leaf updates it carried.
    @discardableResult
    public mutating func apply(_ notification: Gnmi_Notification) -> Int {
        let timestamp = notification.timestamp > 0 ? notification.timestamp : Timestamp.now().unixNanos
        newestTimestamp = max(newestTimestamp, timestamp)
        var count = 0
        for update in notification.update {
            let path = GNMIPath.join(notification.prefix, update.path)
            let elements = path.elem.map { Element(name: Self.localName($0.name), keys: $0.key) }
            guard let value = try? GNMIValue(update.val) else { continue }
            count += fold(elements, value, at: timestamp)
        }
        for deleted in notification.delete {
            let path = GNMIPath.join(notification.prefix, deleted)
            forget(path.elem.map { Element(name: Self.localName($0.name), keys: $0.key) })
        }
        pendingUpdates += count
        return count
    }

    /// The current values as a snapshot, and resets the update count.
    public mutating func takeSnapshot(deviceID: Int64, deviceName: String, address: String) -> GNMISnapshot {
        var s = GNMISnapshot(deviceID: deviceID, deviceName: deviceName, deviceAddress: address)
        s.interfaces = interfaces.keys.sorted().compactMap { interfaces[$0]?.snapshot }
        if !cpuByComponent.isEmpty {
            // The busiest CPU: a control plane at 100 % is what delays replies along a path.
            s.cpuPercent = cpuByComponent.values.max()
        }
        if let total = memory["physical"] { s.memoryTotalBytes = total }
        if let used = memory["used"] {
            s.memoryUsedBytes = used
        } else if let total = memory["physical"], let free = memory["free"], total >= free {
            s.memoryUsedBytes = total - free
        }
        s.queues = queues.keys.sorted { ($0.interface, $0.queue) < ($1.interface, $1.queue) }.compactMap { queues[$0] }
        if newestTimestamp > 0 { s.deviceTimestamp = Timestamp(unixNanos: newestTimestamp) }
        s.updates = pendingUpdates
        pendingUpdates = 0
        return s
    }

    struct Element {
        var name: String
        var keys: [String: String]
    }

    /// Walks a leaf (or a JSON container, flattened) into the mapped state.
    private mutating func fold(_ elements: [Element], _ value: GNMIValue, at timestamp: Int64) -> Int {
        if case .json(let leaf) = value, case .object(let object) = leaf {
            var count = 0
            for (key, child) in object {
                count += foldJSON(elements + [Element(name: Self.localName(key), keys: [:])], child, at: timestamp)
            }
            return count
        }
        // Leaves of other models count as updates but map to nothing.
        map(elements, value, at: timestamp)
        return 1
    }

    private mutating func foldJSON(_ elements: [Element], _ leaf: GNMIValue.JSONLeaf, at timestamp: Int64) -> Int {
        switch leaf {
        case .object(let object):
            var count = 0
            for (key, child) in object {
                count += foldJSON(elements + [Element(name: Self.localName(key), keys: [:])], child, at: timestamp)
            }
            return count
        case .array(let items) where items.contains(where: { if case .object = $0 { true } else { false } }):
            // A list: each entry becomes list[key=value] by its key leaf.
            var count = 0
            for case .object(let entry) in items {
                var keyed = elements
                if var last = keyed.popLast() {
                    for keyName in ["name", "index", "interface-id", "id"] {
                        if let key = entry.first(where: { Self.localName($0.key) == keyName }),
                            let text = GNMIValue.json(key.value).text
                        {
                            last.keys[keyName] = text
                            break
                        }
                    }
                    keyed.append(last)
                }
                count += foldJSON(keyed, .object(entry), at: timestamp)
            }
            return count
        default:
            map(elements, .json(leaf), at: timestamp)
            return 1
        }
    }

    /// Maps one leaf by its OpenConfig path; leaves of paths we do not model are ignored.
    private mutating func map(_ e: [Element], _ value: GNMIValue, at timestamp: Int64) {
        let names = e.map(\.name)
        // /interfaces/interface[name]/state/counters/<leaf>
        if names.count == 5, names[0] == "interfaces", names[1] == "interface", names[2] == "state",
            names[3] == "counters", let name = e[1].keys["name"], let counter = value.counter
        {
            setCounter(interface: name, leaf: names[4], counter, at: timestamp)
            return
        }
        // /interfaces/interface[name]/state/oper-status
        if names.count == 4, names[0] == "interfaces", names[1] == "interface", names[2] == "state",
            names[3] == "oper-status", let name = e[1].keys["name"], let text = value.text
        {
            interfaces[name, default: InterfaceState(snapshot: .init(name: name))].snapshot.operStatus = text
            return
        }
        // /interfaces/interface[name]/ethernet/state/{port-speed,negotiated-port-speed}
        if names.count == 5, names[0] == "interfaces", names[1] == "interface", names[2] == "ethernet",
            names[3] == "state", names[4] == "port-speed" || names[4] == "negotiated-port-speed",
            let name = e[1].keys["name"], let text = value.text
        {
            if let speed = Self.speedBitsPerSecond(text) {
                interfaces[name, default: InterfaceState(snapshot: .init(name: name))].snapshot.speedBitsPerSecond =
                    speed
            }
            return
        }
        // /components/component[name]/cpu/utilization/state/instant
        if names.count == 6, names[0] == "components", names[1] == "component", names[2] == "cpu",
            names[3] == "utilization", names[4] == "state", let name = e[1].keys["name"]
        {
            if names[5] == "instant", let v = value.number { cpuByComponent["component:" + name] = v }
            return
        }
        // /system/cpus/cpu[index]/state/total/instant
        if names.count == 6, names[0] == "system", names[1] == "cpus", names[2] == "cpu", names[3] == "state",
            let index = e[2].keys["index"]
        {
            if names[4] == "total", names[5] == "instant", let v = value.number { cpuByComponent["core:" + index] = v }
            return
        }
        // /system/memory/state/{physical,reserved,used,free}
        if names.count == 4, names[0] == "system", names[1] == "memory", names[2] == "state" {
            if let v = value.counter { memory[names[3]] = v }
            return
        }
        // /qos/interfaces/interface[interface-id]/output/queues/queue[name]/state/<leaf>
        if names.count == 8, names[0] == "qos", names[1] == "interfaces", names[2] == "interface",
            names[3] == "output", names[4] == "queues", names[5] == "queue", names[6] == "state",
            let interface = e[2].keys["interface-id"], let queue = e[5].keys["name"], let v = value.counter
        {
            let key = QueueKey(interface: interface, queue: queue)
            var q = queues[key] ?? GNMISnapshot.Queue(interface: interface, queue: queue)
            switch names[7] {
            case "transmit-pkts": q.transmittedPackets = v
            case "dropped-pkts": q.droppedPackets = v
            default: return
            }
            queues[key] = q
        }
    }

    private mutating func setCounter(interface name: String, leaf: String, _ v: UInt64, at timestamp: Int64) {
        var state = interfaces[name] ?? InterfaceState(snapshot: .init(name: name))
        switch leaf {
        case "in-octets":
            state.snapshot.inOctets = v
            if state.lastIn?.at != timestamp {  // a re-sent sample keeps its rate
                state.snapshot.inBitsPerSecond = Self.rate(previous: state.lastIn, value: v, at: timestamp)
                state.lastIn = Counter(value: v, at: timestamp)
            }
        case "out-octets":
            state.snapshot.outOctets = v
            if state.lastOut?.at != timestamp {  // a re-sent sample keeps its rate
                state.snapshot.outBitsPerSecond = Self.rate(previous: state.lastOut, value: v, at: timestamp)
                state.lastOut = Counter(value: v, at: timestamp)
            }
        case "in-pkts": state.snapshot.inPackets = v
        case "out-pkts": state.snapshot.outPackets = v
        case "in-errors": state.snapshot.inErrors = v
        case "out-errors": state.snapshot.outErrors = v
        case "in-discards": state.snapshot.inDiscards = v
        case "out-discards": state.snapshot.outDiscards = v
        case "in-fcs-errors": state.snapshot.inFCSErrors = v
        case "carrier-transitions": state.snapshot.carrierTransitions = v
        case "in-unicast-pkts", "in-broadcast-pkts", "in-multicast-pkts", "in-unknown-protos", "out-unicast-pkts",
            "out-broadcast-pkts", "out-multicast-pkts", "last-clear":
            break
        default:
            interfaces[name] = state
            return
        }
        if let speed = state.snapshot.speedBitsPerSecond, speed > 0 {
            state.snapshot.inUtilisationPercent = state.snapshot.inBitsPerSecond.map { $0 / Double(speed) * 100 }
            state.snapshot.outUtilisationPercent = state.snapshot.outBitsPerSecond.map { $0 / Double(speed) * 100 }
        }
        interfaces[name] = state
        return
    }

    /// Bits per second since the previous sample; nil on the first sample and after a counter
    /// reset (a device reboot or a `clear counters`).
    private static func rate(previous: Counter?, value: UInt64, at timestamp: Int64) -> Double? {
        guard let previous, timestamp > previous.at, value >= previous.value else { return nil }
        return Double(value - previous.value) * 8 / (Double(timestamp - previous.at) / 1e9)
    }

    private mutating func forget(_ e: [Element]) {
        let names = e.map(\.name)
        if names.count >= 2, names[0] == "interfaces", names[1] == "interface" {
            if let name = e[1].keys["name"] {
                interfaces[name] = nil
            } else {
                interfaces.removeAll()
            }
        } else if names.count >= 2, names[0] == "components", names[1] == "component", let name = e[1].keys["name"] {
            cpuByComponent["component:" + name] = nil
        }
    }

    /// `openconfig-interfaces:counters` → `counters` (RFC 7951 module-qualified names).
    static func localName(_ name: String) -> String {
        guard let colon = name.lastIndex(of: ":") else { return name }
        return String(name[name.index(after: colon)...])
    }

    /// `openconfig-if-ethernet:SPEED_10GB` → 10_000_000_000; nil for SPEED_UNKNOWN.
    static func speedBitsPerSecond(_ identity: String) -> UInt64? {
        let name = localName(identity)
        guard name.hasPrefix("SPEED_") else { return nil }
        var digits = ""
        var unit = ""
        for c in name.dropFirst(6) {
            if c.isNumber && unit.isEmpty { digits.append(c) } else { unit.append(c) }
        }
        guard let n = UInt64(digits) else { return nil }
        switch unit {
        case "MB": return n * 1_000_000
        case "GB": return n * 1_000_000_000
        case "TB": return n * 1_000_000_000_000
        default: return nil
        }
    }
}
