import Foundation
import SwarmTestSupport
import Testing

/// `streamswarm dev --c-agent PATH` (what `scripts/dev.sh --with-c-agent` runs): the Swift agent
/// `local` and the C agent `c-agent` side by side, both online in the web UI, the C agent's icmp
/// results on its results page, and dev mode stopping the C agent (Goodbye) when it stops.
@Suite(
    .timeLimit(.minutes(3)),
    .enabled(if: WebDriver.isAvailable, "needs chromium and chromium-driver (scripts/bootstrap.sh)")
)
struct DevCAgentBrowserTests {
    @Test("dev mode with the C agent: both agents online in the UI, the C agent's results arriving")
    func sideBySide() async throws {
        try await CAgentSwarm.with { swarm in
            let meshPort = try await freeLoopbackPort()
            let httpPort = try await freeLoopbackPort()
            let output = "\(swarm.dir)/dev.log"
            let fd = open(output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            let dev = try ChildProcess.spawn(
                try ProductBinary.require(),
                [
                    "dev", "--data", "\(swarm.dir)/data", "--mesh-port", "\(meshPort)", "--http-port", "\(httpPort)",
                    "--heartbeat-interval", "1s", "--responder-udp-port", "0", "--responder-bandwidth-port", "0",
                    "--c-agent", CAgentSwarm.agentBinary,
                ],
                standardOutput: fd,
                standardError: fd,
                ownProcessGroup: true  // so a failed test kills the C agent with it
            )
            close(fd)
            defer { if dev.exitStatusIfExited() == nil { dev.kill() } }
            func log() -> String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
            let started = await eventually(timeout: .seconds(30)) { log().contains("gateway listening") }
            #expect(started, "dev mode did not start:\n\(log())")
            let password = try #require(
                log().firstMatch(of: /sign in as admin \/ (\S+),/)?.1,
                "no admin password in:\n\(log())"
            )

            let browser = try await WebDriver()
            do {
                let base = "http://127.0.0.1:\(httpPort)"
                try await browser.navigate(base + "/")
                try await browser.type(try await browser.waitFor("#login-form input[name=username]"), "admin")
                try await browser.type(try await browser.waitFor("#login-form input[name=password]"), String(password))
                try await browser.click(try await browser.waitFor("#login-form button[type=submit]"))
                try await browser.waitFor("#stat-agents-online")
                try await browser.navigate(base + "/#/agents")
                try await browser.waitUntil(
                    "document.querySelector('tr[data-agent=\"local\"].online') !== null"
                        + " && document.querySelector('tr[data-agent=\"c-agent\"].online') !== null",
                    timeout: .seconds(30)
                )
                let version =
                    try await browser.execute(
                        "return document.querySelector('tr[data-agent=\"c-agent\"]').innerText;"
                    ) as? String
                #expect(version?.contains("0.1.0-c") == true, "\(version ?? "")")
                // Test 3 is the C agent's icmp test (1: local system, 2: c-agent system).
                try await browser.navigate(base + "/#/results/3")
                try await browser.waitFor("#results-count")
                try await browser.waitUntil(
                    "parseInt(document.querySelector('#results-count').textContent, 10) >= 1"
                        + " && document.body.innerText.includes('c-agent')",
                    timeout: .seconds(30)
                )
            } catch {
                await browser.close()
                throw error
            }
            await browser.close()

            // SIGTERM to dev mode alone: it stops the C agent itself.
            kill(dev.pid, SIGTERM)
            var status: Int32?
            let exited = await eventually(timeout: .seconds(20)) {
                status = dev.exitStatusIfExited()
                return status != nil
            }
            #expect(exited && status == 0, "dev mode did not stop cleanly (\(String(describing: status))):\n\(log())")
            let goodbye = log().contains("agent said Goodbye (shutdown): the C agent is stopping")
            #expect(goodbye, "\(log())")
            #expect(log().contains("the C agent stopped (exit status 0)"), "\(log())")
            #expect(!log().contains("AddressSanitizer") && !log().contains("runtime error"), "\(log())")
        }
    }
}
