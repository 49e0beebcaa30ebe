import Foundation

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

    /// Runs `streamswarm ARGUMENTS` to its end (see ``ChildProcess/run(_:_:in:input:)``).
    public static func run(_ arguments: [String], in dir: String, input: String? = nil) throws -> (Int32, String) {
        try ChildProcess.run(try require(), arguments, in: dir, input: input)
    }
}
