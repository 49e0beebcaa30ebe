import AsyncHTTPClient
import Foundation
// why: the dispatcher is built from a Store and a Logger.
public import Logging
import NIOCore
import NIOHTTP1
import SwarmCore
public import SwarmStore

/// Delivers the notification outbox: webhooks (JSON POST, HMAC-SHA256 signed) and e-mail (SMTP).
/// A failed delivery is retried with exponential backoff; 5xx, 408, 429, network errors and SMTP
/// 4xx are retried, other answers (a 4xx webhook answer, an SMTP 5xx) fail at once. Delivery is at
/// least once: a receiver that saw a delivery id already may ignore it.
public struct NotificationDispatcher: Sendable {
    public struct Options: Sendable {
        /// How often the outbox is read.
        public var pollInterval: Duration = .seconds(1)
        /// The wait before the second attempt; each further one doubles it, up to `maximumDelay`.
        public var firstRetryDelay: Duration = .seconds(5)
        public var maximumDelay: Duration = .seconds(600)
        /// Attempts before a notification is given up as failed.
        public var maximumAttempts = 8
        /// One attempt's limit (connect, send, answer).
        public var attemptTimeout: Duration = .seconds(10)
        /// The name this host gives in SMTP EHLO.
        public var heloName = "streamswarm.localdomain"
        public init() {}
    }

    private let store: any Store
    private let logger: Logger
    private let options: Options

    public init(store: any Store, logger: Logger, options: Options = Options()) {
        self.store = store
        self.logger = logger
        self.options = options
    }

    /// Delivers until cancelled.
    public func run() async throws {
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            // A signed body is never forwarded to wherever a redirect points.
            configuration: HTTPClient.Configuration(redirectConfiguration: .disallow)
        )
        while !Task.isCancelled {
            await deliverDue(client: client, now: .now())
            do { try await Task.sleep(for: options.pollInterval) } catch { break }
        }
        try await client.shutdown()
    }

    func deliverDue(client: HTTPClient, now: Timestamp) async {
        let due: [NotificationRecord]
        let channels: [Int64: AlertChannelRecord]
        do {
            due = try await store.dueNotifications(now: now, limit: 50)
            if due.isEmpty { return }
            channels = Dictionary(uniqueKeysWithValues: try await store.alertChannels().map { ($0.id, $0) })
        } catch {
            guard !Task.isCancelled else { return }
            logger.warning("alerting: could not read the notification outbox (tried again in a second): \(error)")
            return
        }
        for notification in due {
            // A stop mid-attempt leaves the notification pending for the next holder.
            guard !Task.isCancelled else { return }
            let outcome = await deliver(notification, channels: channels, client: client)
            guard !Task.isCancelled else { return }
            do {
                try await store.recordDelivery(notification.id, outcome: outcome)
            } catch {
                logger.warning("alerting: could not record delivery of notification \(notification.id): \(error)")
            }
        }
    }

    private func deliver(
        _ notification: NotificationRecord,
        channels: [Int64: AlertChannelRecord],
        client: HTTPClient
    ) async -> DeliveryOutcome {
        let name = notification.channelName
        guard let id = notification.channelID, let channel = channels[id] else {
            return .failed(error: "channel \(name) was deleted before the notification went out")
        }
        let alert: AlertRecord
        do {
            guard let found = try await store.alert(notification.alertID) else {
                return .failed(error: "alert \(notification.alertID) no longer exists")
            }
            alert = found
        } catch {
            return retry(notification, "could not read alert \(notification.alertID): \(error)")
        }
        let content = NotificationContent(notification: notification, alert: alert)
        let result: Result<Void, SendFailure>
        switch channel.spec.kind {
        case .webhook: result = await postWebhook(content, to: channel.spec, client: client)
        case .email: result = await sendMail(content, via: channel.spec)
        }
        switch result {
        case .success:
            logger.info(
                "alerting: \(notification.event.rawValue) notification of alert \(alert.id) delivered to \(name)"
            )
            return .delivered(at: .now())
        case .failure(let failure) where failure.transient:
            return retry(notification, "\(name): \(failure.reason)")
        case .failure(let failure):
            logger.error(
                "alerting: notification \(notification.id) to \(name) failed and will not be retried: \(failure.reason)"
            )
            return .failed(error: failure.reason)
        }
    }

    private func retry(_ notification: NotificationRecord, _ reason: String) -> DeliveryOutcome {
        let attempts = notification.attempts + 1
        guard attempts < options.maximumAttempts else {
            logger.error("alerting: notification \(notification.id) failed \(attempts) times, giving up: \(reason)")
            return .failed(error: "gave up after \(attempts) attempts: \(reason)")
        }
        var delay = options.firstRetryDelay
        for _ in 1..<attempts where delay < options.maximumDelay { delay *= 2 }
        delay = min(delay, options.maximumDelay)
        logger.warning(
            "alerting: notification \(notification.id) attempt \(attempts) failed, retrying in \(delay): \(reason)"
        )
        return .retry(next: .now() + delay, error: reason)
    }

    struct SendFailure: Error {
        var transient: Bool
        var reason: String
    }

    private func postWebhook(
        _ content: NotificationContent,
        to channel: AlertChannelSpec,
        client: HTTPClient
    ) async -> Result<Void, SendFailure> {
        do {
            let body = try content.json()
            let timestamp = Timestamp.now().unixNanos / 1_000_000_000
            var request = HTTPClientRequest(url: channel.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "StreamSwarm-Alerting/1")
            request.headers.add(name: "X-StreamSwarm-Event", value: content.notification.event.rawValue)
            request.headers.add(name: "X-StreamSwarm-Delivery", value: String(content.notification.id))
            request.headers.add(name: "X-StreamSwarm-Timestamp", value: String(timestamp))
            request.headers.add(
                name: "X-StreamSwarm-Signature",
                value: NotificationContent.signature(body: body, timestamp: timestamp, secret: channel.secret)
            )
            request.body = .bytes(ByteBuffer(bytes: body))
            let timeout = TimeAmount.nanoseconds(options.attemptTimeout.nanoseconds)
            let response = try await client.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            switch response.status.code {
            case 200..<300: return .success(())
            case 408, 429, 500..<600:
                return .failure(SendFailure(transient: true, reason: "webhook answered HTTP \(response.status.code)"))
            default:
                return .failure(
                    SendFailure(
                        transient: false,
                        reason: "webhook answered HTTP \(response.status.code): check the URL and the receiver's secret"
                    )
                )
            }
        } catch {
            return .failure(SendFailure(transient: true, reason: "webhook POST to \(channel.url) failed: \(error)"))
        }
    }

    private func sendMail(
        _ content: NotificationContent,
        via channel: AlertChannelSpec
    ) async -> Result<Void, SendFailure> {
        guard let endpoint = channel.endpoint else {
            return .failure(SendFailure(transient: false, reason: "channel URL \(channel.url) is not smtp://host:port"))
        }
        let client = SMTPClient(
            host: endpoint.host,
            port: endpoint.port ?? 25,
            heloName: options.heloName,
            timeout: options.attemptTimeout
        )
        do {
            try await client.send(
                from: channel.sender,
                to: channel.recipients,
                message: content.email(from: channel.sender, to: channel.recipients, at: .now())
            )
            return .success(())
        } catch let failure as SMTPClient.Failure {
            return .failure(SendFailure(transient: failure.transient, reason: failure.description))
        } catch {
            return .failure(SendFailure(transient: true, reason: "SMTP to \(endpoint.host) failed: \(error)"))
        }
    }
}
