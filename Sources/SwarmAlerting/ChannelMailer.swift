// why: attachments are Foundation Data; the channel and time are SwarmCore types.
public import Foundation
public import SwarmCore

/// Mail with attachments through an e-mail alert channel's relay, for what is not an alert
/// (scheduled reports): the same SMTP path and channel settings as alert notifications.
public struct ChannelMailer: Sendable {
    public struct Attachment: Sendable {
        public var filename: String
        public var contentType: String
        public var data: Data
        public init(filename: String, contentType: String, data: Data) {
            self.filename = filename
            self.contentType = contentType
            self.data = data
        }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// True when trying again later may work (network errors, 4xx replies).
        public var transient: Bool
        public var description: String
    }

    public var heloName = "streamswarm.localdomain"
    public var timeout: Duration = .seconds(60)

    public init() {}

    public func send(
        via channel: AlertChannelSpec,
        subject: String,
        text: String,
        attachments: [Attachment],
        at now: Timestamp
    ) async throws(Failure) {
        guard channel.kind == .email, let endpoint = channel.endpoint else {
            throw Failure(
                transient: false,
                description: "channel \(channel.name) is not an smtp://host:port e-mail channel"
            )
        }
        let message = Self.message(
            from: channel.sender,
            to: channel.recipients,
            subject: subject,
            text: text,
            attachments: attachments,
            at: now
        )
        let client = SMTPClient(host: endpoint.host, port: endpoint.port ?? 25, heloName: heloName, timeout: timeout)
        do {
            try await client.send(from: channel.sender, to: channel.recipients, message: message)
        } catch let failure as SMTPClient.Failure {
            throw Failure(transient: failure.transient, description: failure.description)
        } catch {
            throw Failure(transient: true, description: "SMTP to \(endpoint.host) failed: \(error)")
        }
    }

    /// A multipart/mixed message (RFC 2045/2046): the text first, then each attachment in base64
    /// lines of 76 characters.
    static func message(
        from sender: String,
        to recipients: [String],
        subject: String,
        text: String,
        attachments: [Attachment],
        at now: Timestamp
    ) -> String {
        let boundary = "streamswarm-\(now.unixNanos)-\(UUID().uuidString)"
        let domain = sender.split(separator: "@").last ?? "localhost"
        var lines = [
            "From: <\(sender)>",
            "To: \(recipients.map { "<\($0)>" }.joined(separator: ", "))",
            "Subject: \(NotificationContent.headerWord(subject))",
            "Date: \(NotificationContent.rfc5322Date(now))",
            "Message-ID: <streamswarm.report.\(now.unixNanos)@\(domain)>",
            "MIME-Version: 1.0",
            "Content-Type: multipart/mixed; boundary=\"\(boundary)\"",
            "",
            "--\(boundary)",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            text,
        ]
        for attachment in attachments {
            let name = attachment.filename.filter { $0 != "\"" && $0 != "\r" && $0 != "\n" }
            lines += [
                "--\(boundary)",
                "Content-Type: \(attachment.contentType); name=\"\(name)\"",
                "Content-Transfer-Encoding: base64",
                "Content-Disposition: attachment; filename=\"\(name)\"",
                "",
                attachment.data.base64EncodedString(options: [
                    .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
                ]),
            ]
        }
        lines.append("--\(boundary)--")
        return lines.joined(separator: "\r\n")
    }
}
