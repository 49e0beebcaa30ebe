import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SwarmAgent
import SwarmCore
import SwarmWire
import Synchronization

/// One simulated agent: a real mTLS mesh session that sends pre-encoded batches once a second.
struct SimulatedAgent {
    let port: Int
    let context: NIOSSLContext
    let group: any EventLoopGroup
    let frames: [Data]
    let heartbeat: Duration
    let recorder: Recorder
    let start: Gate<Void>
    let onConnected: @Sendable () -> Void

    func run() async {
        do {
            var connector = MeshConnector(host: "127.0.0.1", port: port, serverName: "localhost", sslContext: context)
            connector.connectTimeout = .seconds(30)
            let channel = try await connector.connect(group: group)
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(
                    MeshCodec.encode(
                        .hello(
                            Mesh.Hello(agentVersion: "bench", host: HostFacts(hostname: "bench"), capabilities: [.tcp])
                        )
                    )
                )
                var iterator = inbound.makeAsyncIterator()
                guard let first = try await iterator.next(), case .welcome = try MeshCodec.decode(first) else { return }
                onConnected()
                let sentAt = Locked<[UInt64: ContinuousClock.Instant]>([:])
                let heartbeats = Locked<[UInt64: ContinuousClock.Instant]>([:])
                let total = frames.count
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask {
                        await start.wait()
                        var sequence: UInt64 = 0
                        var nextHeartbeat = ContinuousClock.now
                        let begin = ContinuousClock.now + .milliseconds(Int64.random(in: 0..<1000))
                        for (index, frame) in frames.enumerated() {
                            try await Task.sleep(until: begin + .seconds(index), clock: .continuous)
                            let now = ContinuousClock.now
                            sentAt.withLock { $0[UInt64(index)] = now }
                            recorder.sent(at: now)
                            try await outbound.write(MeshFrame(payload: ByteBuffer(bytes: frame)))
                            if now >= nextHeartbeat {
                                sequence += 1
                                let seq = sequence
                                heartbeats.withLock { $0[seq] = .now }
                                try await outbound.write(
                                    MeshCodec.encode(
                                        .heartbeat(Mesh.Heartbeat(sequence: seq, sentAt: .now(), load: LoadSnapshot()))
                                    )
                                )
                                nextHeartbeat = now + heartbeat
                            }
                        }
                    }
                    var acked = 0
                    while acked < total, let frame = try await iterator.next() {
                        switch try MeshCodec.decode(frame) {
                        case .batchAck(let ack):
                            let now = ContinuousClock.now
                            let index = (ack.batchID - 1) % UInt64(max(total, 1))
                            if let sent = sentAt.withLock({ $0.removeValue(forKey: index) }) {
                                recorder.acked(stored: ack.storedCount, latency: now - sent, at: now)
                            }
                            acked += 1
                        case .heartbeatAck(let ack):
                            if let sent = heartbeats.withLock({ $0.removeValue(forKey: ack.sequence) }) {
                                recorder.heartbeat(ContinuousClock.now - sent)
                            }
                        default:
                            break
                        }
                    }
                    try await tasks.waitForAll()
                }
                try await outbound.write(
                    MeshCodec.encode(.goodbye(Mesh.Goodbye(reason: .shutdown, message: "bench done")))
                )
            }
        } catch {
            FileHandle.standardError.write(Data("bench: simulated agent failed: \(error)\n".utf8))
        }
    }
}
