// why: waitUntilListening watches a Foundation Process.
public import Foundation

/// Loopback TCP ports for the processes a benchmark starts.
public enum Loopback {
    /// A port the kernel hands out as free on 127.0.0.1 right now.
    /// - Throws: ``BenchError`` `.noFreePort`.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw BenchError(code: .noFreePort, message: "could not find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A first port with `count` free ports after it, between 20,000 and 30,000.
    /// - Throws: ``BenchError`` `.noFreePort`.
    public static func freePortRange(_ count: Int) throws -> Int {
        for _ in 0..<50 {
            let first = Int.random(in: 20_000..<(30_000 - count))
            if (0..<count).allSatisfy({ isFree(first + $0) }) { return first }
        }
        throw BenchError(code: .noFreePort, message: "could not find \(count) free consecutive loopback ports")
    }

    public static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Waits up to 30 s until something accepts on 127.0.0.1:`port`.
    /// - Throws: ``BenchError`` `.processFailed` when `process` exits first, `.timedOut`.
    public static func waitUntilListening(port: Int, process: Process) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw BenchError(
                    code: .processFailed,
                    message: "the server process exited early (status \(process.terminationStatus))"
                )
            }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd)
            if ok { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError(code: .timedOut, message: "the server did not start listening within 30 s")
    }
}
