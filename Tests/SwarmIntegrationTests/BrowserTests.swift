import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwarmAgent
import SwarmCore
import SwarmGateway
import SwarmPKI
import SwarmServer
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Synchronization
import Testing

/// The whole system in one process (mesh server, recurrence scheduler, gateway, local agent) driven
/// through the web UI in headless Chromium: sign in, create a test, watch results arrive live, visit
/// every page, and find no console errors. Screenshots land in `.build/ui-screenshots/`.
@Suite(
    .timeLimit(.minutes(3)),
    .enabled(if: WebDriver.isAvailable, "needs chromium and chromium-driver (scripts/bootstrap.sh)")
)
struct BrowserTests {
    static let password = "browser test password"
    static let screenshots = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/ui-screenshots")

    @Test("sign in, create a test, see results arrive live, visit every page without console errors")
    func walkthrough() async throws {
        try await withTemporaryDirectory { directory in
            let pki = try TestingPKI()
            let store = try makeTestStore(in: directory)
            try await store.createUser(
                UserRecord(
                    username: "admin",
                    passwordHash: try await PasswordHasher(cost: 4).hash(Self.password),
                    role: .admin
                )
            )
            let meshPort = try await freeLoopbackPort()
            let gatewayPort = Mutex(0)
            var serverConfiguration = MeshServer.Configuration(tls: pki.serverMaterial)
            serverConfiguration.host = "127.0.0.1"
            serverConfiguration.port = meshPort
            serverConfiguration.heartbeatInterval = .milliseconds(500)
            serverConfiguration.statusFlushInterval = .milliseconds(200)
            let server = try MeshServer(
                configuration: serverConfiguration,
                store: store,
                logger: Logger(label: "ui.server")
            )
            let agent = try EndToEndTests().makeAgent(pki, port: meshPort, spool: "\(directory)/spool.sqlite")
            let gateway = Gateway(
                configuration: .init(host: "127.0.0.1", port: 0, passwordHasher: PasswordHasher(cost: 4)),
                store: store,
                logger: Logger(label: "ui.gateway")
            ) { port in gatewayPort.withLock { $0 = port } }
            let group = ServiceGroup(
                services: [
                    server, RecurrenceScheduler(store: store, logger: Logger(label: "ui.scheduler")), gateway, agent,
                ],
                logger: Logger(label: "ui")
            )
            try await EndToEndTests().running({ try await group.run() }) {
                #expect(await eventually { gatewayPort.withLock { $0 } != 0 })
                #expect(await eventually { (try? await store.agent(AgentName("local")!))?.online == true })
                let base = "http://127.0.0.1:\(gatewayPort.withLock { $0 })"
                let browser = try await WebDriver()
                do {
                    try await drive(browser, base: base, store: store)
                } catch {
                    try? await save(browser, "failure")
                    await browser.close()
                    throw error
                }
                await browser.close()
            }
        }
    }

    private func drive(_ browser: WebDriver, base: String, store: SQLiteStore) async throws {
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        var console: [WebDriver.LogEntry] = []

        // Sign in.
        try await browser.navigate(base + "/")
        let username = try await browser.waitFor("#login-form input[name=username]")
        try await save(browser, "login")
        try await browser.type(username, "admin")
        try await browser.type(try await browser.waitFor("#login-form input[name=password]"), Self.password)
        try await browser.click(try await browser.waitFor("#login-form button[type=submit]"))
        try await browser.waitFor("#stat-agents-online")
        try await browser.waitUntil("document.querySelector('#stat-agents-online').textContent.includes('1')")
        try await browser.waitFor("#live-status")
        try await browser.waitUntil("document.querySelector('#live-status').textContent.includes('live')")
        try await browser.waitUntil(
            "document.querySelector('#stat-swarm-health .badge') !== null",
            timeout: .seconds(15)
        )
        try await save(browser, "dashboard")
        console += try await browser.consoleLog()

        // Create a tcp test against the gateway's own port, every second, on the local agent.
        try await browser.navigate(base + "/#/tests/new")
        let name = try await browser.waitFor("#test-form input[name=name]")
        try await browser.type(name, "ui <b>probe</b>")
        try await browser.click(try await browser.waitFor("#test-form input[name=kind][value=tcp]"))
        try await browser.type(try await browser.waitFor("#test-form input[name=host]"), "127.0.0.1")
        let port = base.split(separator: ":").last.map(String.init) ?? ""
        try await browser.type(try await browser.waitFor("#test-form input[name=port]"), port)
        try await browser.type(try await browser.waitFor("#test-form input[name=interval]"), "1")
        try await browser.waitFor("#test-form input[name=agent][value=local]")
        _ = try await browser.execute(
            "const a = document.querySelector('#test-form input[name=agent][value=local]'); if (!a.checked) a.click();"
        )
        try await save(browser, "test-form")
        _ = try await browser.execute("document.querySelector('#test-form').requestSubmit();")
        try await browser.waitUntil("location.hash.startsWith('#/results/')", timeout: .seconds(10))
        let tests = try await store.tests().filter { $0.spec.name == "ui <b>probe</b>" }
        #expect(tests.count == 1)
        let test = try #require(tests.first)
        #expect(test.spec.probes == [.tcp])
        #expect(test.spec.schedule.interval == .seconds(1))

        // Results arrive live (server-sent events), without a reload.
        try await browser.waitFor("#results-count")
        let marker = try await browser.execute("window.__noReload = 'still here'; return window.__noReload;") as? String
        #expect(marker == "still here")
        try await browser.waitUntil(
            "parseInt(document.querySelector('#results-count').textContent, 10) >= 3",
            timeout: .seconds(20)
        )
        try await browser.waitUntil("document.querySelectorAll('#results-table tbody tr').length >= 1")
        #expect(try await browser.execute("return window.__noReload;") as? String == "still here")
        // The name is shown as text, not markup.
        let title = try await browser.execute("return document.body.innerText.includes('ui <b>probe</b>');") as? Bool
        #expect(title == true)
        // The analysis panel: the local agent's health, its runs in the window, why there is no forecast.
        try await browser.waitUntil(
            "document.querySelector('#analysis .analysis-agent[data-agent=\"local\"] .badge') !== null",
            timeout: .seconds(15)
        )
        let analysis = try await browser.text(try await browser.waitFor("#analysis"))
        #expect(analysis.contains("runs in the window") && analysis.contains("forecast: none"), "\(analysis)")
        try await save(browser, "results")
        console += try await browser.consoleLog()

        // Every other page renders.
        for (page, ready) in [
            ("agents", "#agents-table"), ("agents/local", "body"), ("devices", "#devices-table"),
            ("tests", "#tests-table"), ("mesh", "#mesh-matrix"),
            ("users", "#users-table"), ("tokens", "#tokens-table"), ("settings", "#settings-form"),
            ("profile", "#password-form"),
            ("dashboard", "#events-list"),
        ] {
            try await browser.navigate(base + "/#/" + page)
            try await browser.waitFor(ready)
            try await Task.sleep(for: .milliseconds(400))
            try await save(browser, page.replacingOccurrences(of: "/", with: "-"))
            console += try await browser.consoleLog()
        }

        // Sign out: the login page comes back.
        try await browser.click(try await browser.waitFor("#logout"))
        try await browser.waitFor("#login-form")
        console += try await browser.consoleLog()

        let problems = console.filter { $0.level == "SEVERE" || $0.level == "WARNING" }
        #expect(problems.isEmpty, "browser console: \(problems)")
    }

    private func save(_ browser: WebDriver, _ name: String) async throws {
        let png = try await browser.screenshot()
        try png.write(to: Self.screenshots.appendingPathComponent("\(name).png"))
    }
}
