import Foundation
import GRPCCore
import SwarmGNMI
import SwarmGNMIProto
import SwiftProtobuf
import Synchronization

/// The gNMI service a ``SimulatedGNMIDevice`` serves: Capabilities, Get and Subscribe.
struct SimulatedGNMIService: Gnmi_gNMI.ServiceProtocol {
    let target: SimulatedGNMIDevice

    func capabilities(
        request: ServerRequest<Gnmi_CapabilityRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gnmi_CapabilityResponse> {
        try target.authenticate(request.metadata)
        var response = Gnmi_CapabilityResponse()
        response.gNmiVersion = "0.10.0"
        response.supportedEncodings = target.settings.encodings
        response.supportedModels = [
            ("openconfig-interfaces", "3.8.1"), ("openconfig-platform", "0.30.0"), ("openconfig-system", "2.3.0"),
            ("openconfig-qos", "2.2.0"),
        ].map { name, version in
            var m = Gnmi_ModelData()
            m.name = name
            m.organization = "OpenConfig working group"
            m.version = version
            return m
        }
        return ServerResponse(message: response)
    }

    func get(
        request: ServerRequest<Gnmi_GetRequest>,
        context: ServerContext
    ) async throws -> ServerResponse<Gnmi_GetResponse> {
        try target.authenticate(request.metadata)
        try target.checkEncoding(request.message.encoding)
        let all = target.leaves()
        var selected: [SimulatedGNMIDevice.Leaf] = []
        for path in request.message.path {
            selected += try target.select(GNMIPath.join(request.message.prefix, path), from: all)
        }
        var response = Gnmi_GetResponse()
        response.notification = target.notifications(selected, encoding: request.message.encoding, target: "")
        target.sent(selected.count)
        return ServerResponse(message: response)
    }

    func subscribe(
        request: StreamingServerRequest<Gnmi_SubscribeRequest>,
        context: ServerContext
    ) async throws -> StreamingServerResponse<Gnmi_SubscribeResponse> {
        try target.authenticate(request.metadata)
        target.countSubscribe()
        let target = self.target
        return StreamingServerResponse { writer in
            var iterator = request.messages.makeAsyncIterator()
            guard let first = try await iterator.next(), case .subscribe(let list) = first.request else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "the first SubscribeRequest must carry a SubscriptionList"
                )
            }
            try target.checkEncoding(list.encoding)
            let all = target.leaves()
            var paths: [Gnmi_Path] = []
            for s in list.subscription {
                let path = GNMIPath.join(list.prefix, s.path)
                _ = try target.select(path, from: all)
                paths.append(path)
            }
            let session = SubscribeSession(target: target, list: list, paths: paths, writer: writer)
            switch list.mode {
            case .once:
                try await session.sendAll(list.updatesOnly ? [] : nil)
                try await session.sync()
            case .poll:
                try await session.sendAll(list.updatesOnly ? [] : nil)
                try await session.sync()
                while let next = try await iterator.next() {
                    guard case .poll = next.request else {
                        throw RPCError(code: .invalidArgument, message: "only poll requests may follow in POLL mode")
                    }
                    try await session.sendAll(nil)
                    try await session.sync()
                }
            default:
                try await session.stream()
            }
            return [:]
        }
    }
}

/// One open Subscribe RPC.
private struct SubscribeSession: Sendable {
    let target: SimulatedGNMIDevice
    let list: Gnmi_SubscriptionList
    let paths: [Gnmi_Path]
    let writer: RPCWriter<Gnmi_SubscribeResponse>

    func send(_ leaves: [SimulatedGNMIDevice.Leaf]) async throws {
        guard !leaves.isEmpty, !target.isSilent else { return }
        for n in target.notifications(leaves, encoding: list.encoding, target: list.prefix.target) {
            var response = Gnmi_SubscribeResponse()
            response.update = n
            try await writer.write(response)
        }
        target.sent(leaves.count)
    }

    /// All selected leaves (or the given ones).
    func sendAll(_ only: [SimulatedGNMIDevice.Leaf]?) async throws {
        if let only { return try await send(only) }
        let all = target.leaves()
        var selected: [SimulatedGNMIDevice.Leaf] = []
        for path in paths { selected += try target.select(path, from: all) }
        try await send(selected)
    }

    func sync() async throws {
        guard !target.isSilent else { return }
        var response = Gnmi_SubscribeResponse()
        response.syncResponse = true
        try await writer.write(response)
    }

    /// STREAM: an initial full set and sync, then one loop per subscription.
    func stream() async throws {
        if !list.updatesOnly { try await sendAll(nil) }
        try await sync()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (subscription, path) in zip(list.subscription, paths) {
                group.addTask { try await run(subscription, path: path) }
            }
            try await group.waitForAll()
        }
    }

    private func run(_ s: Gnmi_Subscription, path: Gnmi_Path) async throws {
        let onChange = s.mode == .onChange || (s.mode == .targetDefined && isStatus(path))
        if onChange {
            let initial = try target.select(path, from: target.leaves()).map(\.value)
            let changes = target.changeStream
            let heartbeat = s.heartbeatInterval > 0 ? Duration.nanoseconds(Int64(s.heartbeatInterval)) : nil
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var last = initial
                    for await _ in changes {
                        let now = try target.select(path, from: target.leaves())
                        let changed = zip(now, last).filter { $0.value != $1 }.map(\.0)
                        last = now.map(\.value)
                        try await send(changed)
                    }
                }
                if let heartbeat {
                    group.addTask {
                        while true {
                            try await Task.sleep(for: heartbeat)
                            try await send(try target.select(path, from: target.leaves()))
                        }
                    }
                }
                try await group.waitForAll()
            }
        } else {
            let interval = s.sampleInterval > 0 ? Duration.nanoseconds(Int64(s.sampleInterval)) : .seconds(10)
            let heartbeat = s.heartbeatInterval > 0 ? Duration.nanoseconds(Int64(s.heartbeatInterval)) : nil
            var last: [SimulatedGNMIDevice.LeafValue] = []
            var lastFull = ContinuousClock.now
            var next = ContinuousClock.now + interval
            while true {
                try await Task.sleep(until: next)
                next = next + interval
                let now = try target.select(path, from: target.leaves())
                if s.suppressRedundant, now.count == last.count {
                    let due = heartbeat.map { ContinuousClock.now - lastFull >= $0 } ?? false
                    let changed = due ? now : zip(now, last).filter { $0.value != $1 }.map(\.0)
                    if due { lastFull = .now }
                    last = now.map(\.value)
                    try await send(changed)
                } else {
                    last = now.map(\.value)
                    lastFull = .now
                    try await send(now)
                }
            }
        }
    }

    private func isStatus(_ path: Gnmi_Path) -> Bool { path.elem.last?.name == "oper-status" }
}
