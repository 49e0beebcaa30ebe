/// The server a dns probe queries, as written in `options.dns.server` or /etc/resolv.conf.
struct DNSServerAddress: Hashable, Sendable, CustomStringConvertible {
    static let defaultPort = 53

    var host: String
    var port: Int

    /// Parses `host`, `host:port`, `[v6]:port`, `[v6]` or a bare IPv6 literal (port 53); nil when the
    /// text is empty or the port is not 1...65535.
    static func parse(_ text: String) -> DNSServerAddress? {
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { return nil }
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { return nil }
            let host = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let rest = trimmed[trimmed.index(after: close)...]
            if rest.isEmpty { return host.isEmpty ? nil : DNSServerAddress(host: host, port: defaultPort) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port), !host.isEmpty
            else { return nil }
            return DNSServerAddress(host: host, port: port)
        }
        let colons = trimmed.filter { $0 == ":" }.count
        if colons == 1, let colon = trimmed.firstIndex(of: ":") {
            guard let port = Int(trimmed[trimmed.index(after: colon)...]), (1...65535).contains(port),
                colon != trimmed.startIndex
            else { return nil }
            return DNSServerAddress(host: String(trimmed[..<colon]), port: port)
        }
        // No colon: a name or IPv4 address. Several: an IPv6 literal without brackets.
        return DNSServerAddress(host: trimmed, port: defaultPort)
    }

    /// The first `nameserver` of resolv.conf text (resolv.conf(5)), or nil when there is none.
    static func firstNameserver(inResolvConf text: String) -> DNSServerAddress? {
        for line in text.split(whereSeparator: { $0 == "\n" }) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { continue }
            return DNSServerAddress(host: String(fields[1]), port: defaultPort)
        }
        return nil
    }

    /// `host:port`, with brackets around IPv6 literals.
    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
