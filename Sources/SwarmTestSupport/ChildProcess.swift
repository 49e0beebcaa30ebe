// why: spawn takes a Foundation URL and exposes a Glibc pid_t.
public import Foundation
import Glibc

public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
}

/// A child process started with posix_spawn: an empty signal mask and default dispositions (the
/// test runner's threads block signals, and a child inheriting that would ignore SIGTERM), stdin
/// on /dev/null, stdout and stderr on /dev/null unless given, and no dependence on Foundation's run loop to be reaped.
public struct ChildProcess: Sendable {
    public let pid: pid_t
    /// The child leads its own process group, and ``stop()`` signals the whole group (so a
    /// browser that chromedriver started goes too).
    public let ownsGroup: Bool

    static let closeInheritedDescriptors = """
        for fd in /proc/self/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null; fi; done
        exec "$@"
        """

    public static func spawn(
        _ executable: String,
        _ arguments: [String],
        directory: URL? = nil,
        standardInput: Int32? = nil,
        standardOutput: Int32? = nil,
        standardError: Int32? = nil,
        ownProcessGroup: Bool = false
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
        if let standardInput {
            posix_spawn_file_actions_adddup2(&actions, standardInput, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        if let standardOutput {
            posix_spawn_file_actions_adddup2(&actions, standardOutput, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        if let standardError {
            posix_spawn_file_actions_adddup2(&actions, standardError, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }

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
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let cArguments = argv.map { strdup($0) }
        defer { for argument in cArguments { free(argument) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments + [nil], environ)
        guard rc == 0 else {
            throw ChildProcessError(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        return ChildProcess(pid: pid, ownsGroup: ownProcessGroup)
    }

    /// The exit status once the child has exited (and reaps it), else nil.
    public func exitStatusIfExited() -> Int32? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? status : nil
    }

    /// Waits for the child and returns its raw wait status (0 is a clean exit).
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// SIGKILL at once (a crash: no Goodbye, no cleanup), and reaps.
    public func kill() {
        Glibc.kill(ownsGroup ? -pid : pid, SIGKILL)
        _ = wait()
    }

    /// SIGTERM, then SIGKILL if it is still running after 2 s; always reaps.
    public func stop() {
        let target = ownsGroup ? -pid : pid
        Glibc.kill(target, SIGTERM)
        for _ in 0..<200 {
            if exitStatusIfExited() != nil { return }
            usleep(10_000)
        }
        Glibc.kill(target, SIGKILL)
        _ = wait()
    }
}

extension ChildProcess {
    /// Runs `executable ARGUMENTS` to its end, with `input` on its standard input; returns the
    /// exit code (128 + signal when killed) and what it wrote to stdout and stderr together.
    /// Scratch files go to `dir`.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        in dir: String,
        input: String? = nil
    ) throws -> (Int32, String) {
        let output = "\(dir)/run-\(UUID().uuidString).out"
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        var inputFD: Int32?
        if let input {
            let path = "\(dir)/run-\(UUID().uuidString).in"
            try input.write(toFile: path, atomically: true, encoding: .utf8)
            inputFD = open(path, O_RDONLY)
        }
        defer { if let inputFD { close(inputFD) } }
        let status = try spawn(executable, arguments, standardInput: inputFD, standardOutput: fd, standardError: fd)
            .wait()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        // A normal exit carries its code in bits 8-15 of the wait status.
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
    }
}
