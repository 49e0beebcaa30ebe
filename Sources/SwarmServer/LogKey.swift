/// Log metadata keys of the mesh server.
enum LogKey: String {
    case agent = "swarm.agent"
    case sessionID = "swarm.session.id"
    case peerAddress = "swarm.peer.address"
    case batchID = "swarm.batch.id"
    case testID = "swarm.test.id"
}
