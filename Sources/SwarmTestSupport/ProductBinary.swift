import Foundation
import Glibc

/// The built `streamswarm` binary, found next to the test bundle (SwiftPM puts both in the same
/// `debug` or `release` directory), for tests that run it as a separate process.
public enum ProductBinary {
    /// Directories searched, in order: the test runner's own directory, the bundle, its parent.
    static let searched: [URL] = {
        var directories: [URL] = []
        if let runner = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: runner).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        let bundle = Bundle.main.bundleURL.resolvingSymlinksInPath()
        directories += [bundle, bundle.deletingLastPathComponent()]
        return directories
    }()

    /// The absolute path of `streamswarm`, or nil when it has not been built.
    public static let path: String? = searched.lazy
        .map { $0.appendingPathComponent("streamswarm").path }
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The binary's path, or an error that says where it was looked for and how to build it.
    public static func require() throws -> String {
        guard let path else {
            throw ChildProcessError(
                description: """
                    the streamswarm binary is not next to the test bundle (looked in \
                    \(searched.map(\.path).joined(separator: ", "))); build it with \
                    `swift build --build-tests` before `swift test --skip-build`
                    """
            )
        }
        return path
    }

    /// Runs `streamswarm ARGUMENTS` to its end, with `input` on its standard input; returns the
    /// exit code (128 + signal when killed) and what it wrote to stdout and stderr together.
    public static func run(_ arguments: [String], in dir: String, input: String? = nil) throws -> (Int32, String) {
        let output = "\(dir)/cli-\(UUID().uuidString).out"
        let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        var inputFD: Int32?
        if let input {
            let path = "\(dir)/cli-\(UUID().uuidString).in"
            try input.write(toFile: path, atomically: true, encoding: .utf8)
            inputFD = open(path, O_RDONLY)
        }
        defer { if let inputFD { close(inputFD) } }
        let child = try ChildProcess.spawn(
            try require(),
            arguments,
            standardInput: inputFD,
            standardOutput: fd,
            standardError: fd
        )
        let status = child.wait()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        // A normal exit carries its code in bits 8-15 of the wait status.
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
    }
}
