import Crypto
import Foundation
import SwarmCore
import SwarmStore

/// What a notification says, as the webhook's JSON body and the e-mail's text.
struct NotificationContent: Sendable {
    /// The webhook body (snake_case keys, sorted so equal content is equal bytes).
    struct Body: Codable, Sendable {
        struct Alert: Codable, Sendable {
            var id: Int64
            var rule: String
            var metric: String
            var unit: String
            var severity: String
            var test: Int64?
            var agent: String?
            var raisedAt: String
            var raisedValue: Double
            var clearedAt: String?
            var clearedValue: Double?
            var message: String
            var acknowledgedBy: String?
        }

        var version = 1
        var event: String
        var delivery: Int64
        var alert: Alert
    }

    let notification: NotificationRecord
    let alert: AlertRecord

    var body: Body {
        Body(
            event: notification.event.rawValue,
            delivery: notification.id,
            alert: Body.Alert(
                id: alert.id,
                rule: alert.ruleName,
                metric: alert.metric.rawValue,
                unit: alert.metric.unit,
                severity: alert.severity.rawValue,
                test: alert.test?.rawValue,
                agent: alert.agent?.rawValue,
                raisedAt: alert.raisedAt.iso8601,
                raisedValue: alert.raisedValue,
                clearedAt: alert.clearedAt?.iso8601,
                clearedValue: alert.clearedValue,
                message: alert.message,
                acknowledgedBy: alert.acknowledgedBy
            )
        )
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(body)
    }

    /// The signature header's value: `sha256=` and the hex HMAC-SHA256 of "timestamp.body" under
    /// the channel's secret. The timestamp is in the signed text, so an old delivery cannot be replayed
    /// as a new one.
    static func signature(body: Data, timestamp: Int64, secret: String) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    var subject: String {
        let verb = notification.event == .raised ? "RAISED" : "CLEARED"
        return "[StreamSwarm] \(verb) \(alert.severity.rawValue): \(alert.ruleName) for \(alert.scopeDescription)"
    }

    /// The e-mail: headers and a plain-text body (RFC 5322; non-ASCII subjects as RFC 2047 words).
    func email(from sender: String, to recipients: [String], at now: Timestamp) -> String {
        var text = [alert.message, ""]
        if notification.event == .cleared, let value = alert.clearedValue {
            text.insert(alert.clearedMessage(value: value), at: 0)
        }
        text += [
            "Rule: \(alert.ruleName) (\(alert.severity.rawValue))",
            "Scope: \(alert.scopeDescription)",
            "Raised: \(alert.raisedAt.iso8601) at \(alert.raisedValue) \(alert.metric.unit)",
        ]
        if let cleared = alert.clearedAt { text.append("Cleared: \(cleared.iso8601) at \(alert.clearedValue ?? .nan)") }
        text.append("Alert id: \(alert.id) (streamswarm alerts ack \(alert.id))")
        let headers = [
            "From: <\(sender)>",
            "To: \(recipients.map { "<\($0)>" }.joined(separator: ", "))",
            "Subject: \(Self.headerWord(subject))",
            "Date: \(Self.rfc5322Date(now))",
            "Message-ID: <streamswarm.\(notification.id).\(now.unixNanos)@\(sender.split(separator: "@").last ?? "localhost")>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "X-StreamSwarm-Event: \(notification.event.rawValue)",
            "X-StreamSwarm-Delivery: \(notification.id)",
        ]
        return (headers + [""] + text).joined(separator: "\r\n")
    }

    /// ASCII stays; anything else becomes one base64 encoded-word. Line breaks never reach a header.
    static func headerWord(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if flat.unicodeScalars.allSatisfy({ $0.isASCII }) { return flat }
        return "=?UTF-8?B?\(Data(flat.utf8).base64EncodedString())?="
    }

    static func rfc5322Date(_ time: Timestamp) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(time.unixNanos) / 1e9))
    }
}
