import SwarmCore
import SwarmStore

/// Fills in the targets of mesh assignments: a test naming a peer agent measures the responder that
/// agent advertised in its last Hello. The address is taken when the assignment is pushed.
enum MeshTargets {
    static func resolve(_ assignments: [TestAssignment], store: any AgentStore) async throws -> [TestAssignment] {
        var resolved: [TestAssignment] = []
        var peers: [String: ResponderEndpoint?] = [:]
        for var assignment in assignments {
            let peerName = assignment.spec.target.agentName
            guard !peerName.isEmpty, assignment.spec.target.host.isEmpty else {
                resolved.append(assignment)
                continue
            }
            if peers[peerName] == nil, let name = AgentName(peerName) {
                peers[peerName] = try await store.agent(name)?.host?.responder
            }
            if let endpoint = peers[peerName] ?? nil {
                assignment.spec.target.host = endpoint.address
                let kinds = assignment.spec.probes
                assignment.spec.target.port = kinds.contains(.bandwidth) ? endpoint.bandwidthPort : endpoint.udpPort
            }
            resolved.append(assignment)
        }
        return resolved
    }
}
