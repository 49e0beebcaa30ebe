import Foundation
import SwarmCore
import Synchronization

/// Impairments for a ``NetLab``. Everything is off by default.
///
/// Where each impairment sits (see `scripts/netlab.sh`): delay, jitter and reordering in R1 by a
/// userspace delay line (this kernel has no netem); loss in R1 on packets forwarded A→B only;
/// DSCP remarking in R2 on packets forwarded toward B; the rate limit (tbf) in R2 in both
/// directions; the smaller MTU on the R2–B link.
public struct NetLabConfig: Sendable, Hashable {
    /// One-way delay A→B in milliseconds. 0 (with no jitter) means no delay line at all.
    public var delayMs: Double
    /// One-way delay B→A in milliseconds. Defaults to `delayMs`.
    public var reverseDelayMs: Double?
    /// Uniform jitter ±`jitterMs` added to each packet's delay, both directions.
    public var jitterMs: Double
    /// Schedule packets independently, so jitter larger than the packet gap reorders them.
    /// Without it the delay line is FIFO.
    public var reorder: Bool
    /// Random loss A→B in packets per thousand (0–1000). The reverse path stays clean.
    public var lossPermille: Int
    /// Rate limit in Mbit/s at layer 2, both directions. 0 means no limit.
    public var rateMbit: Double
    /// MTU of the R2–B link (1280–9000), or nil for the default 1500.
    public var mtu: Int?
    /// DSCP value (0–63) written into packets forwarded toward B, or nil for no remarking.
    public var dscpRemark: Int?
    /// Number of extra target addresses 10.72.0.1… on B (0–2000).
    public var targets: Int
    /// Set `net.ipv4.ping_group_range` to all groups in A and B, so unprivileged ICMP datagram
    /// sockets work there (the host's range is empty).
    public var pingGroup: Bool

    public init(
        delayMs: Double = 0,
        reverseDelayMs: Double? = nil,
        jitterMs: Double = 0,
        reorder: Bool = false,
        lossPermille: Int = 0,
        rateMbit: Double = 0,
        mtu: Int? = nil,
        dscpRemark: Int? = nil,
        targets: Int = 0,
        pingGroup: Bool = true
    ) {
        self.delayMs = delayMs
        self.reverseDelayMs = reverseDelayMs
        self.jitterMs = jitterMs
        self.reorder = reorder
        self.lossPermille = lossPermille
        self.rateMbit = rateMbit
        self.mtu = mtu
        self.dscpRemark = dscpRemark
        self.targets = targets
        self.pingGroup = pingGroup
    }

    /// A lab with no impairments.
    public static var defaults: NetLabConfig { NetLabConfig() }

    /// The `netlab.sh up` options for this configuration.
    var arguments: [String] {
        var arguments = ["--delay-ms", Self.decimal(delayMs), "--jitter-ms", Self.decimal(jitterMs)]
        if let reverseDelayMs { arguments += ["--reverse-delay-ms", Self.decimal(reverseDelayMs)] }
        if reorder { arguments.append("--reorder") }
        if lossPermille > 0 { arguments += ["--loss-permille", String(lossPermille)] }
        if rateMbit > 0 { arguments += ["--rate-mbit", Self.decimal(rateMbit)] }
        if let mtu { arguments += ["--mtu", String(mtu)] }
        if let dscpRemark { arguments += ["--dscp-remark", String(dscpRemark)] }
        if targets > 0 { arguments += ["--targets", String(targets)] }
        if !pingGroup { arguments.append("--no-ping-group") }
        return arguments
    }

    /// Plain decimal notation (the script rejects exponents such as `1e-05`).
    private static func decimal(_ value: Double) -> String {
        String(format: "%.6f", value)
    }
}

/// The error thrown by ``NetLab``.
public struct NetLabError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case unavailable, upFailed, launchFailed, timedOut
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Labs cannot be built on this machine (not root, no `ip netns add`, a tool missing).
        public static let unavailable = Code(.unavailable)
        /// `netlab.sh up` failed.
        public static let upFailed = Code(.upFailed)
        /// A command could not be started.
        public static let launchFailed = Code(.launchFailed)
        /// A command did not finish in time and was killed.
        public static let timedOut = Code(.timedOut)

        public var description: String { "\(value)" }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "NetLabError.\(code): \(message)" }
}

/// What a finished command printed, and how it ended.
public struct ProcessOutput: Sendable, Hashable {
    /// The exit status, or the signal number when `terminatedBySignal` is set.
    public var status: Int32
    public var terminatedBySignal: Bool
    public var stdout: String
    public var stderr: String

    /// Exit status 0.
    public var succeeded: Bool { status == 0 && !terminatedBySignal }
}

/// An impaired network of four namespaces: A (client) — R1 — R2 — B (server).
///
/// Built by `scripts/netlab.sh` (see it for the topology and where each impairment sits).
/// Use ``withLab(_:name:_:)``, which always tears the lab down.
public final class NetLab: Sendable {
    /// A namespace of the lab.
    public enum Node: String, Sendable, CaseIterable {
        case a, r1, r2, b
    }

    /// The fixed addresses of every lab (they only exist inside the lab's namespaces).
    public struct Addresses: Sendable, Hashable {
        /// A, the client.
        public let a = "10.71.1.2"
        public let a6 = "fd71:1::2"
        /// R1's address toward A (the first hop from A).
        public let r1 = "10.71.1.1"
        public let r1v6 = "fd71:1::1"
        /// R2's address toward R1 (the second hop from A).
        public let r2 = "10.71.2.2"
        public let r2v6 = "fd71:2::2"
        /// B, the server (the third hop from A).
        public let b = "10.71.3.2"
        public let b6 = "fd71:3::2"
        /// The extra target addresses on B, 10.72.0.1 onwards.
        public let targets: [String]

        init(targetCount: Int) {
            targets = (0..<targetCount).map { Addresses.target($0 + 1) }
        }

        /// The `index`th target address (1-based): 1 → 10.72.0.1, 1000 → 10.72.3.232.
        public static func target(_ index: Int) -> String {
            "10.72.\(index / 256).\(index % 256)"
        }
    }

    /// The lab's name; its namespaces are `<name>-a`, `<name>-r1`, `<name>-r2` and `<name>-b`.
    public let name: String
    public let config: NetLabConfig
    public let addresses: Addresses
    /// Scratch files for command output, removed by ``down()``.
    private let scratch: URL
    private let isDown = Mutex(false)
    /// Whether this lab holds a ``KeepCPUsAwake`` reference (released by ``down()``).
    private let holdsCPUs = Mutex(false)

    private init(name: String, config: NetLabConfig, scratch: URL) {
        self.name = name
        self.config = config
        self.addresses = Addresses(targetCount: config.targets)
        self.scratch = scratch
    }

    /// The lab script, found from this file's place in the repository.
    public static let scriptPath: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SwarmTestSupport
        .deletingLastPathComponent()  // Sources
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("scripts/netlab.sh").path

    /// nil when labs can be built here, otherwise the reason (not root, `ip netns add` fails,
    /// nft, tc or cc missing, no /dev/net/tun). Checked once per process.
    public static func availability() -> String? { availabilityReason }

    private static let availabilityReason: String? = {
        guard FileManager.default.isExecutableFile(atPath: scriptPath) else {
            return "\(scriptPath) is missing or not executable"
        }
        do {
            let output = try runBlocking(scriptPath, ["check"])
            if output.succeeded { return nil }
            var reason = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            for prefix in ["netlab: cannot run here: ", "netlab: "] where reason.hasPrefix(prefix) {
                reason.removeFirst(prefix.count)
            }
            return reason.isEmpty ? "netlab.sh check exited with status \(output.status)" : reason
        } catch {
            return "cannot run \(scriptPath): \(error)"
        }
    }()

    /// Builds a lab. A lab with the same name is torn down first.
    ///
    /// - Parameter name: 1–20 characters of `[A-Za-z0-9_]`; defaults to a unique `swl…` name.
    public static func up(_ config: NetLabConfig, name: String? = nil) async throws -> NetLab {
        if let reason = availability() {
            throw NetLabError(code: .unavailable, message: reason)
        }
        let name = name ?? "swl\(String(UInt64.random(in: 0..<(1 << 40)), radix: 36))"
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("netlab-\(name)-\(UUID())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let lab = NetLab(name: name, config: config, scratch: scratch)
        let output: ProcessOutput
        do {
            output = try await lab.runScript(["up", "--name", name] + config.arguments, timeout: .seconds(60))
        } catch {
            await lab.down()
            throw error
        }
        guard output.succeeded else {
            await lab.down()
            throw NetLabError(
                code: output.status == 77 ? .unavailable : .upFailed,
                message: "netlab.sh up --name \(name) exited with \(output.status): \(output.stderr)"
            )
        }
        KeepCPUsAwake.acquire()
        lab.holdsCPUs.withLock { $0 = true }
        return lab
    }

    /// Builds a lab, runs `body`, and tears the lab down in the success and the error path.
    public static func withLab<T>(
        _ config: NetLabConfig,
        name: String? = nil,
        _ body: (NetLab) async throws -> T
    ) async throws -> T {
        let lab = try await up(config, name: name)
        do {
            let result = try await body(lab)
            await lab.down()
            return result
        } catch {
            await lab.down()
            throw error
        }
    }

    /// Tears the lab down: kills the delay line and anything still running in the lab's
    /// namespaces, deletes the namespaces and the state directory. Idempotent.
    public func down() async {
        let first = isDown.withLock { isDown in
            defer { isDown = true }
            return !isDown
        }
        guard first else { return }
        if holdsCPUs.withLock({ $0 }) { KeepCPUsAwake.release() }
        _ = try? await runScript(["down", "--name", name], timeout: .seconds(30))
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Runs `arguments` inside `node`'s namespace and waits for it, killing it after `timeout`.
    ///
    /// A non-zero exit is not an error (check ``ProcessOutput/status``); a timeout throws.
    public func run(_ node: Node, _ arguments: [String], timeout: Duration) async throws -> ProcessOutput {
        try await runScript(["exec", "--name", name, node.rawValue, "--"] + arguments, timeout: timeout)
    }

    /// Starts `arguments` inside `node`'s namespace in the background (a server such as
    /// `iperf3 -s`). Call ``BackgroundProcess/terminate()`` when done; ``down()`` kills anything
    /// left over as well.
    public func spawn(_ node: Node, _ arguments: [String]) throws -> BackgroundProcess {
        try BackgroundProcess(
            executable: Self.scriptPath,
            arguments: ["exec", "--name", name, node.rawValue, "--"] + arguments,
            scratch: scratch
        )
    }

    /// `netlab.sh status` as key/value pairs: the applied config and the delay line's counters
    /// (`forward_rx_packets`, `reverse_reordered`, `forward_release_error_avg_us`, …).
    public func status() async throws -> [String: String] {
        let output = try await runScript(["status", "--name", name], timeout: .seconds(10))
        var values: [String: String] = [:]
        for line in output.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    /// The raw `netlab.sh status` text (config, counters, nftables rules, tbf statistics).
    public func statusText() async throws -> String {
        try await runScript(["status", "--name", name], timeout: .seconds(10)).stdout
    }

    private func runScript(_ arguments: [String], timeout: Duration) async throws -> ProcessOutput {
        let process = try BackgroundProcess(executable: Self.scriptPath, arguments: arguments, scratch: scratch)
        return try await process.wait(timeout: timeout)
    }

    /// Runs a short command synchronously (for the one-time availability check).
    private static func runBlocking(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("netlab-check-\(UUID())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = try BackgroundProcess(executable: executable, arguments: arguments, scratch: scratch)
        process.waitBlocking()
        return process.collect()
    }
}

/// A command started by ``NetLab/spawn(_:_:)``. Its output goes to scratch files, so a chatty
/// command never blocks on a full pipe and partial output can be read while it runs.
public final class BackgroundProcess: Sendable {
    private let process: Process
    private let stdoutURL: URL
    private let stderrURL: URL
    private let exit = Gate<Void>()

    /// The process id (of the command itself: `ip netns exec` execs it in place).
    public let pid: Int32

    init(executable: String, arguments: [String], scratch: URL) throws {
        let id = UUID().uuidString
        stdoutURL = scratch.appendingPathComponent("\(id).out")
        stderrURL = scratch.appendingPathComponent("\(id).err")
        guard
            FileManager.default.createFile(atPath: stdoutURL.path, contents: nil),
            FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        else {
            throw NetLabError(code: .launchFailed, message: "cannot create output files in \(scratch.path)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let stdout: FileHandle
        let stderr: FileHandle
        do {
            stdout = try FileHandle(forWritingTo: stdoutURL)
            stderr = try FileHandle(forWritingTo: stderrURL)
        } catch {
            throw NetLabError(code: .launchFailed, message: "cannot open output files in \(scratch.path): \(error)")
        }
        defer {
            try? stdout.close()
            try? stderr.close()
        }
        process.standardOutput = stdout
        process.standardError = stderr
        let exit = self.exit
        process.terminationHandler = { _ in exit.open() }
        do {
            try process.run()
        } catch {
            throw NetLabError(
                code: .launchFailed,
                message: "cannot start \(executable) \(arguments.joined(separator: " ")): \(error)"
            )
        }
        self.process = process
        self.pid = process.processIdentifier
    }

    /// Whether the command is still running.
    public var isRunning: Bool { !exit.isOpen }

    /// What the command has printed so far on standard output.
    public var stdout: String { Self.read(stdoutURL) }

    /// What the command has printed so far on standard error.
    public var stderr: String { Self.read(stderrURL) }

    /// Waits for the command to exit; after `timeout` it is terminated and ``NetLabError/Code/timedOut``
    /// is thrown. Cancelling the waiting task terminates the command too.
    public func wait(timeout: Duration) async throws -> ProcessOutput {
        let exit = self.exit
        let inTime = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await exit.wait()
                return true
            }
            group.addTask {
                // Returns false on timeout and on cancellation: either way the command must stop.
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            if !first { await self.terminate() }
            return first
        }
        guard inTime else {
            let output = collect()
            throw NetLabError(
                code: .timedOut,
                message: "\(commandLine) did not finish within \(timeout); stderr: \(output.stderr.suffix(2000))"
            )
        }
        return collect()
    }

    /// Waits until the command's standard output or error contains `text`, or it exits, or
    /// `timeout` passes. Returns whether the text appeared (a server's "listening" line).
    public func waitForOutput(containing text: String, timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stdout.contains(text) || stderr.contains(text) { return true }
            if !isRunning { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return stdout.contains(text) || stderr.contains(text)
    }

    /// Stops the command: SIGTERM, then SIGKILL after a second, and waits for it to exit.
    public func terminate() async {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        let exit = self.exit
        let pid = self.pid
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await exit.wait() }
            group.addTask {
                try? await Task.sleep(for: .seconds(1))
                if !exit.isOpen { kill(pid, SIGKILL) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    func waitBlocking() {
        process.waitUntilExit()
        // terminationHandler runs on another thread; the status is final once waitUntilExit returns.
        exit.open()
    }

    func collect() -> ProcessOutput {
        let signalled = exit.isOpen && process.terminationReason == .uncaughtSignal
        return ProcessOutput(
            status: exit.isOpen ? process.terminationStatus : -1,
            terminatedBySignal: signalled,
            stdout: stdout,
            stderr: stderr
        )
    }

    private var commandLine: String {
        ([process.executableURL?.path ?? "?"] + (process.arguments ?? [])).joined(separator: " ")
    }

    private static func read(_ url: URL) -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
