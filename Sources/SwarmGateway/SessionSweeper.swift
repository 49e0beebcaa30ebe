import Logging
import SwarmCore
import SwarmStore

/// Deletes browser sessions that are idle or past their absolute lifetime, so an abandoned
/// session does not wait in the database for someone to present its cookie.
struct SessionSweeper {
    let store: any AccountStore
    let settings: GatewaySettings
    let interval: Duration
    let logger: Logger

    func run() async {
        while !Task.isCancelled {
            await sweep()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    func sweep() async {
        do {
            let now = Timestamp.now()
            let idle = Duration.seconds(try await settings.value("sessionIdleMinutes") * 60)
            let lifetime = Duration.seconds(try await settings.value("sessionLifetimeHours") * 3600)
            let purged = try await store.deleteSessions(idleBefore: now - idle, createdBefore: now - lifetime)
            if purged > 0 { logger.info("purged \(purged) expired browser sessions") }
        } catch {
            logger.warning("could not purge expired browser sessions (will retry): \(error)")
        }
    }
}
