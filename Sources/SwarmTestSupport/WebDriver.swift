// why: screenshot() returns Foundation Data.
public import Foundation

/// A small W3C WebDriver client driving Debian's headless Chromium through chromedriver.
///
/// It starts its own chromedriver on a free loopback port and quits it on ``close()``.
public final class WebDriver: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// One browser console entry (chromedriver's `browser` log).
    public struct LogEntry: Sendable, CustomStringConvertible {
        public var level: String
        public var message: String
        public var description: String { "\(level): \(message)" }
    }

    private let driver: ChildProcess
    private let port: Int
    private let session: String

    /// Whether this machine has chromium and chromedriver (scripts/bootstrap.sh installs them).
    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    }

    /// Starts chromedriver and a headless Chromium session with a `width`×`height` window;
    /// downloads land in `downloads` when given.
    public init(width: Int = 1280, height: Int = 900, downloads: String? = nil) async throws {
        let port = Int.random(in: 30_000..<32_000)
        driver = try ChildProcess.spawn(
            "/usr/bin/chromedriver",
            ["--port=\(port)", "--allowed-ips=127.0.0.1"],
            ownProcessGroup: true
        )
        self.port = port
        var ready = false
        for _ in 0..<100 {
            if let status = try? await Self.call(port, "GET", "/status", nil) as? [String: Any],
                (status["ready"] as? Bool) == true
            {
                ready = true
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard ready else {
            driver.stop()
            throw Failure(description: "chromedriver did not start on 127.0.0.1:\(port) within 10 s")
        }
        var prefs: [String: Any] = [:]
        if let downloads {
            prefs = [
                "download.default_directory": downloads, "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            ]
        }
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "prefs": prefs,
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=\(width),\(height)", "--no-first-run", "--disable-extensions",
                            "--disable-background-networking", "--disable-sync", "--disable-component-update",
                            "--disable-default-apps", "--metrics-recording-only", "--no-default-browser-check",
                        ],
                    ],
                    "goog:loggingPrefs": ["browser": "ALL"],
                ] as [String: Any]
            ]
        ]
        do {
            let value = try await Self.call(port, "POST", "/session", capabilities) as? [String: Any]
            guard let id = value?["sessionId"] as? String else {
                throw Failure(description: "chromedriver returned no session id: \(String(describing: value))")
            }
            session = id
        } catch {
            driver.stop()
            throw error
        }
        if let downloads {
            // Headless Chromium also needs to be told through DevTools that downloads are allowed.
            do {
                _ = try await command(
                    "POST",
                    "/goog/cdp/execute",
                    ["cmd": "Browser.setDownloadBehavior", "params": ["behavior": "allow", "downloadPath": downloads]]
                )
            } catch {
                await close()
                throw error
            }
        }
    }

    /// Ends the browser session and stops chromedriver.
    public func close() async {
        _ = try? await command("DELETE", "", nil)
        driver.stop()
    }

    // MARK: - Navigation and elements

    public func navigate(_ url: String) async throws {
        _ = try await command("POST", "/url", ["url": url])
    }

    public func currentURL() async throws -> String {
        try await command("GET", "/url", nil) as? String ?? ""
    }

    /// The first element matching `css`, or nil.
    public func find(_ css: String) async throws -> String? {
        let found = try await command("POST", "/elements", ["using": "css selector", "value": css]) as? [[String: Any]]
        return found?.first?.values.first as? String
    }

    public func findAll(_ css: String) async throws -> [String] {
        let found = try await command("POST", "/elements", ["using": "css selector", "value": css]) as? [[String: Any]]
        return (found ?? []).compactMap { $0.values.first as? String }
    }

    /// Waits until `css` matches an element (polling every 100 ms).
    @discardableResult
    public func waitFor(_ css: String, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let element = try await find(css) { return element }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "no element matched '\(css)' within \(timeout) (page \(try await currentURL()))")
    }

    /// Waits until `condition` (a JavaScript expression) is truthy.
    public func waitUntil(_ condition: String, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = try await execute("return !!(\(condition));") as? Bool, value { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "'\(condition)' did not become true within \(timeout)")
    }

    public func click(_ element: String) async throws {
        _ = try await command("POST", "/element/\(element)/click", [String: Any]())
    }

    public func type(_ element: String, _ text: String) async throws {
        _ = try await command("POST", "/element/\(element)/clear", [String: Any]())
        _ = try await command("POST", "/element/\(element)/value", ["text": text])
    }

    public func text(_ element: String) async throws -> String {
        try await command("GET", "/element/\(element)/text", nil) as? String ?? ""
    }

    /// Runs `script` in the page (WebDriver scripts are not subject to the page's CSP).
    public func execute(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        try await command("POST", "/execute/sync", ["script": script, "args": arguments])
    }

    /// A PNG of the viewport.
    public func screenshot() async throws -> Data {
        guard let encoded = try await command("GET", "/screenshot", nil) as? String,
            let data = Data(base64Encoded: encoded)
        else { throw Failure(description: "chromedriver returned no screenshot") }
        return data
    }

    /// Console entries since the last call (chromedriver's `browser` log).
    public func consoleLog() async throws -> [LogEntry] {
        let entries = try await command("POST", "/se/log", ["type": "browser"]) as? [[String: Any]] ?? []
        return entries.map { LogEntry(level: $0["level"] as? String ?? "?", message: $0["message"] as? String ?? "") }
    }

    // MARK: - Wire

    private func command(_ method: String, _ path: String, _ body: Any?) async throws -> Any? {
        try await Self.call(port, method, "/session/\(session)\(path)", body)
    }

    private static func call(_ port: Int, _ method: String, _ path: String, _ body: Any?) async throws -> Any? {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let response = try await LoopbackHTTP.request(port: port, method: method, path: path, body: payload)
        let data = response.body
        let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [String: Any]
        let value = object?["value"]
        let status = response.status
        if status >= 400 {
            let message = (value as? [String: Any])?["message"] as? String ?? String(decoding: data, as: UTF8.self)
            throw Failure(description: "WebDriver \(method) \(path) failed (\(status)): \(message.prefix(400))")
        }
        return value is NSNull ? nil : value
    }
}
