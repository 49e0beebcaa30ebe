import Foundation
import Logging
import ServiceLifecycle
import SwarmCore
import SwarmGateway
import SwarmStore
import SwarmStoreSQLite
import SwarmTestSupport
import Synchronization
import Testing

/// "Download PDF" in headless Chromium: the dashboard's swarm report, an agent's and a test's are
/// downloaded into a directory and read back with poppler.
@Suite(
    .timeLimit(.minutes(3)),
    .enabled(if: WebDriver.isAvailable, "needs chromium and chromium-driver (scripts/bootstrap.sh)")
)
struct ReportsBrowserTests {
    static let password = "reports browser password"

    func seed(_ store: SQLiteStore) async throws -> TestRecord {
        let agent = try #require(AgentName("edge-1"))
        let now = Timestamp.now()
        try await store.recordSessionStart(
            SessionStart(agent: agent, sessionID: "s1", agentVersion: "test", host: HostFacts(), at: now)
        )
        let test = try await store.createTest(
            TestSpec(name: "ping core", probes: [.icmp], target: .init(host: "192.0.2.7")),
            agents: [agent]
        )
        let rows = (0..<288).map { (step: Int) -> MeasurementRecord in
            let value = (20 + Double(step % 7) * 0.3) * 1000
            return MeasurementRecord(
                testID: test.id,
                revision: 1,
                agent: agent,
                sequence: UInt64(step + 1),
                kind: .icmp,
                startedAt: now - .seconds(300 * Int64(288 - step)),
                duration: .milliseconds(50),
                status: .ok,
                value: value,
                figures: MeasurementFigures(lossPercent: 0, jitterMicros: 200),
                payload: Data()
            )
        }
        _ = try await store.commitBatches([IncomingBatch(agent: agent, batchID: 1, measurements: rows)])
        return test
    }

    @Test("the dashboard, agent and results pages download their PDF reports")
    func downloads() async throws {
        try await withTemporaryDirectory { directory in
            let store = try makeTestStore(in: directory)
            try await store.createUser(
                UserRecord(
                    username: "admin",
                    passwordHash: try await PasswordHasher(cost: 4).hash(Self.password),
                    role: .admin
                )
            )
            let test = try await seed(store)
            let downloads = "\(directory)/downloads"
            try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
            let gatewayPort = Mutex(0)
            let gateway = Gateway(
                configuration: .init(host: "127.0.0.1", port: 0, passwordHasher: PasswordHasher(cost: 4)),
                store: store,
                logger: Logger(label: "ui.gateway")
            ) { port in gatewayPort.withLock { $0 = port } }
            let group = ServiceGroup(services: [gateway], logger: Logger(label: "ui"))
            try await EndToEndTests().running({ try await group.run() }) {
                #expect(await eventually { gatewayPort.withLock { $0 } != 0 })
                let browser = try await WebDriver(downloads: downloads)
                do {
                    try await drive(
                        browser,
                        base: "http://127.0.0.1:\(gatewayPort.withLock { $0 })",
                        downloads: downloads,
                        test: test,
                        store: store
                    )
                } catch {
                    await browser.close()
                    throw error
                }
                await browser.close()
            }
        }
    }

    private func drive(
        _ browser: WebDriver,
        base: String,
        downloads: String,
        test: TestRecord,
        store: SQLiteStore
    ) async throws {
        try await browser.navigate(base + "/")
        try await browser.type(try await browser.waitFor("#login-form input[name=username]"), "admin")
        try await browser.type(try await browser.waitFor("#login-form input[name=password]"), Self.password)
        try await browser.click(try await browser.waitFor("#login-form button[type=submit]"))
        try await browser.waitFor("#stat-agents-online")

        var seen: Set<String> = []
        /// Clicks the page's Download PDF and returns the text of the file that arrives.
        func download(_ page: String) async throws -> String {
            try await browser.navigate(base + page)
            let link = try await browser.waitFor("#download-pdf")
            try await browser.click(link)
            var arrived: String?
            let done = try await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
                let files = try FileManager.default.contentsOfDirectory(atPath: downloads)
                arrived = files.first { $0.hasSuffix(".pdf") && !seen.contains($0) }
                return arrived != nil && !files.contains { $0.hasSuffix(".crdownload") }
            }
            let name = try #require(arrived, "no PDF downloaded from \(page) (done: \(done))")
            seen.insert(name)
            let path = "\(downloads)/\(name)"
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)).starts(with: Data("%PDF-".utf8)))
            return try PDFFile(path: path, scratch: downloads).text()
        }

        let swarm = try await download("/#/")
        #expect(swarm.contains("Swarm report") && swarm.contains("Generated by") && swarm.contains("admin"))
        let agent = try await download("/#/agents/edge-1")
        #expect(agent.contains("Agent report: edge-1") && agent.contains("ping core"))
        let results = try await download("/#/results/\(test.id)")
        #expect(results.contains("Test report: ping core") && results.contains("latency p50"), "\(results.prefix(500))")
        #expect(seen.contains { $0.hasPrefix("streamswarm-test-\(test.id)-") }, "\(seen)")

        // A weekly schedule through the Alerts page's form: refused without an e-mail channel,
        // added once there is one, and deleted again.
        try await browser.navigate(base + "/#/alerts")
        try await browser.type(try await browser.waitFor("#report-schedule-form input[name=name]"), "weekly noc")
        try await browser.type(try await browser.waitFor("#report-schedule-form input[name=channel]"), "noc-mail")
        _ = try await browser.execute("document.querySelector('#report-schedule-form').requestSubmit();")
        try await browser.waitUntil(
            "document.querySelector('#flash').textContent.includes('there is no channel noc-mail')",
            timeout: .seconds(10)
        )
        _ = try await store.createAlertChannel(
            AlertChannelSpec(
                name: "noc-mail",
                kind: .email,
                url: "smtp://127.0.0.1:25",
                sender: "swarm@example.net",
                recipients: ["noc@example.net"]
            )
        )
        _ = try await browser.execute("document.querySelector('#report-schedule-form').requestSubmit();")
        try await browser.waitUntil(
            "document.querySelector('#report-schedules-table tr[data-schedule=\"weekly noc\"]') !== null",
            timeout: .seconds(10)
        )
        let row = try await browser.text(try await browser.waitFor("#report-schedules-table tbody tr"))
        #expect(row.contains("weekly swarm (a4)") && row.contains("noc-mail") && row.contains("not yet"), "\(row)")
        let schedule = try #require(try await store.reportSchedules().first)
        #expect(schedule.spec.cadence == .weekly && schedule.spec.scope == .swarm && schedule.createdBy == "admin")
        _ = try await browser.execute("window.confirm = () => true;")
        try await browser.click(
            try await browser.waitFor("#report-schedules-table button[data-action=delete-schedule]")
        )
        try await browser.waitUntil(
            "document.querySelectorAll('#report-schedules-table tbody tr').length === 0",
            timeout: .seconds(10)
        )
        #expect(try await store.reportSchedules().isEmpty)
    }
}
