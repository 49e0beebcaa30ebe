import Foundation
import Glibc
import Synchronization

extension NetLab {
    /// A TCP socket listening on 127.0.0.1 inside `node`'s namespace, on a free port: made on a
    /// thread of its own that joins the namespace (setns), so this process can serve a program the
    /// lab runs there (a webhook receiver, an SMTP sink). The caller owns the descriptor.
    public func listeningSocket(in node: Node) throws -> (socket: Int32, port: Int) {
        let path = "/run/netns/\(name)-\(node.rawValue)"
        let result = Mutex<Result<(Int32, Int), NetLabError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            result.withLock { $0 = Self.listen(inNamespaceAt: path) }
            done.signal()
        }
        thread.start()
        done.wait()
        return try result.withLock {
            $0 ?? .failure(NetLabError(code: .launchFailed, message: "no result from the namespace thread"))
        }.get()
    }

    private static func listen(inNamespaceAt path: String) -> Result<(Int32, Int), NetLabError> {
        func failure(_ what: String) -> Result<(Int32, Int), NetLabError> {
            .failure(
                NetLabError(code: .launchFailed, message: "\(what) in \(path): \(String(cString: strerror(errno)))")
            )
        }
        // setns is a GNU extension the Glibc module does not export: look it up.
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return failure("no setns") }
        let setns = unsafeBitCast(symbol, to: SetNS.self)
        let namespace = open(path, O_RDONLY)
        guard namespace >= 0 else { return failure("cannot open the namespace") }
        defer { close(namespace) }
        guard setns(namespace, 0x4000_0000) == 0 else { return failure("setns(CLONE_NEWNET) failed") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return failure("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && Glibc.listen(fd, 64) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            return failure("bind/listen failed")
        }
        return .success((fd, Int(UInt16(bigEndian: address.sin_port))))
    }
}
