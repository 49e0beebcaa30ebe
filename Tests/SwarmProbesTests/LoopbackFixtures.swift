import Foundation
import Glibc

/// Real servers for the probe tests: child processes bound to 127.0.0.1 on free ports, stopped in
/// every path, and the reference tools (dig, curl, openssl) run to compare against.
enum LoopbackFixtures {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A port that is free for both TCP and UDP on 127.0.0.1 right now: bind port 0, read it, close.
    static func freePort() throws -> Int {
        for _ in 0..<20 {
            let port = try bindAndRelease(type: SOCK_STREAM, port: 0)
            if (try? bindAndRelease(type: SOCK_DGRAM, port: port)) != nil { return port }
        }
        throw Failure(description: "no port free for both TCP and UDP on 127.0.0.1")
    }

    private static func bindAndRelease(type: __socket_type, port: Int) throws -> Int {
        let fd = socket(AF_INET, Int32(type.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket(): \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw Failure(description: "port \(port) is taken") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True once something accepts TCP connections on 127.0.0.1:`port`.
    static func acceptsTCP(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Runs `executable` as a server on a free port (its arguments are made for that port), calls
    /// `body` with the port once it accepts TCP connections, and stops it afterwards, whether `body`
    /// returns or throws. A server that exits before listening (another process took the port in
    /// the meantime) is retried on a new port.
    static func withServer<T>(
        _ executable: String,
        directory: URL? = nil,
        arguments: (Int) -> [String],
        _ body: (Int) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let port = try freePort()
            let child = try ChildProcess.spawn(executable, arguments(port), directory: directory)
            defer { child.stop() }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            var exited: Int32?
            while !acceptsTCP(port: port) {
                exited = child.exitStatusIfExited()
                if exited != nil { break }
                guard clock.now < deadline else {
                    throw Failure(description: "\(executable) did not listen on \(port)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            if let exited {
                guard attempt < 3 else {
                    throw Failure(description: "\(executable) exited with status \(exited >> 8) before listening")
                }
                continue
            }
            return try await body(port)
        }
    }

    /// Runs a tool to completion and returns its standard output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], directory: URL? = nil) throws -> String {
        String(decoding: try runBytes(executable, arguments, directory: directory), as: UTF8.self)
    }

    /// Runs a tool to completion and returns its standard output as bytes.
    static func runBytes(_ executable: String, _ arguments: [String], directory: URL? = nil) throws -> [UInt8] {
        var fds: [Int32] = [0, 0]
        // Close-on-exec from creation, so servers spawned meanwhile by other tests cannot inherit it.
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw Failure(description: "socketpair(): \(errno)")
        }
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(executable, arguments, directory: directory, standardOutput: fds[1])
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        defer { close(fds[0]) }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            output += buffer[0..<count]
        }
        let status = child.wait()
        guard status == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited with \(status)")
        }
        return output
    }

    /// A fresh temporary directory, removed after `body`.
    static func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swarm-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try await body(url)
    }

    /// A fresh temporary directory, removed after `body` (synchronous form).
    static func withTemporaryDirectorySync<T>(_ body: (URL) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swarm-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }
}

/// A child process started with posix_spawn: an empty signal mask and default dispositions (the
/// test runner's threads block signals, and a child inheriting that would ignore SIGTERM), stdin
/// and stderr on /dev/null, and no dependence on Foundation's run loop to be reaped.
struct ChildProcess {
    let pid: pid_t

    static let closeInheritedDescriptors = """
        for fd in /proc/self/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null; fi; done
        exec "$@"
        """

    static func spawn(
        _ executable: String,
        _ arguments: [String],
        directory: URL? = nil,
        standardOutput: Int32? = nil
    ) throws -> ChildProcess {
        // `env -C` changes directory in the child (posix_spawn has no portable chdir action).
        let command =
            directory.map { ["/usr/bin/env", "-C", $0.path, executable] + arguments } ?? [executable] + arguments
        // why: close every inherited descriptor above stderr before exec. Other tests run Foundation
        // `Process`es at the same time, and Foundation sees a child exit only when every copy of that
        // child's socket is closed: a long-lived server holding one would hang those tests.
        let argv = ["/bin/bash", "-c", Self.closeInheritedDescriptors, "close-fds"] + command
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let standardOutput {
            posix_spawn_file_actions_adddup2(&actions, standardOutput, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArguments = argv.map { strdup($0) }
        defer { for argument in cArguments { free(argument) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments + [nil], environ)
        guard rc == 0 else {
            throw LoopbackFixtures.Failure(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid)
    }

    /// The exit status once the child has exited (and reaps it), else nil.
    func exitStatusIfExited() -> Int32? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? status : nil
    }

    /// Waits for the child and returns its raw wait status (0 is a clean exit).
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// SIGTERM, then SIGKILL if it is still running after 2 s; always reaps.
    func stop() {
        kill(pid, SIGTERM)
        for _ in 0..<200 {
            if exitStatusIfExited() != nil { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        _ = wait()
    }
}
