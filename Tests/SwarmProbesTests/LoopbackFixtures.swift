import Foundation
import Glibc
import SwarmTestSupport

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
