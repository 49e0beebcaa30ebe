import Logging
import ServiceLifecycle
import SwarmProbes

/// Runs the UDP echo and bandwidth responders inside a ServiceGroup, so they start and stop with the
/// server or agent process.
struct ResponderService: Service {
    var udp: UDPEchoResponder?
    var bandwidth: BandwidthResponder?
    var logger: Logger

    func run() async throws {
        udp?.start()
        bandwidth?.start()
        try? await gracefulShutdown()
        udp?.stop()
        bandwidth?.stop()
        var summary: Logger.Metadata = [:]
        if let counters = udp?.counters {
            summary["swarm.udp.answered"] = "\(counters.answered)"
            summary["swarm.udp.refused"] = "\(counters.refusedUnauthenticated + counters.refusedMalformed)"
        }
        if let counters = bandwidth?.counters {
            summary["swarm.bandwidth.answered"] = "\(counters.answered)"
            summary["swarm.bandwidth.refused"] = "\(counters.refusedUnauthenticated)"
        }
        logger.info("responders stopped", metadata: summary)
    }
}
