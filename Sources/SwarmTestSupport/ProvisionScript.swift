import Foundation
import SwarmAgent

/// The repository checkout the tests run from (`Sources/SwarmTestSupport/..` up two levels).
public enum Repository {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// `scripts/provision-certs.sh` as tests run it: real openssl certificates in a test's directory.
public enum ProvisionScript {
    public static let path = "\(Repository.root)/scripts/provision-certs.sh"

    /// Runs the script with `arguments` and `--dir dir`; throws, naming the step, when it fails.
    public static func run(_ arguments: [String], dir: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [path] + arguments + ["--dir", dir]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError(
                "provision-certs.sh \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): "
                    + "run it by hand with the same arguments to see why"
            )
        }
    }

    /// A CA, a server certificate and one certificate per agent in `dir`.
    public static func swarm(dir: String, agents: [String]) throws {
        try run(["init"], dir: dir)
        try run(["server"], dir: dir)
        for agent in agents { try run(["agent", agent], dir: dir) }
    }
}

/// Waits until the agents' spools at `paths` are empty and their sequence ranges stopped moving
/// for one `every` (an agent that has not yet heard of a cancel would still be spooling, and what
/// it spools after a comparison is read would look lost or foreign). True when they did in time.
public func spoolsDrained(
    _ paths: [String],
    timeout: Duration,
    every: Duration = .milliseconds(1500)
) async throws
    -> Bool
{
    var lastRanges: [Range<UInt64>] = []
    return try await eventually(timeout: timeout, every: every) {
        var depth = 0
        var ranges: [Range<UInt64>] = []
        for path in paths {
            let spool = try Spool(path: path)
            depth += try await spool.depth()
            ranges.append(try await spool.sequenceRange())
        }
        defer { lastRanges = ranges }
        return depth == 0 && ranges == lastRanges
    }
}
