// why: run(...) takes and returns Foundation Data.
public import Foundation

/// protoc (C++), the second protobuf runtime the conformance tests check our encoding against.
/// scripts/bootstrap.sh installs it (Debian protobuf-compiler).
public enum Protoc {
    public static let path = ["/usr/bin/protoc", "/usr/local/bin/protoc"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// The repository's `Proto/` folder.
    public static let protoRoot = repositoryRoot.appendingPathComponent("Proto").path
    /// `google/protobuf/*.proto` from the swift-protobuf checkout the build made (the system
    /// protoc package ships none).
    public static let wellKnownTypes =
        repositoryRoot.appendingPathComponent(".build/checkouts/swift-protobuf/Sources/protobuf/include").path

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: String
    }

    /// `protoc --decode=MESSAGE` or `--encode=MESSAGE` (`mode`) of `input`, with `file` under `Proto/`.
    public static func run(_ mode: String, _ message: String, file: String, input: Data) throws -> Output {
        guard let path else { throw ChildProcessError(description: "protoc not installed: run scripts/bootstrap.sh") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [
            "--\(mode)=\(message)", "--proto_path=\(protoRoot)", "--proto_path=\(wellKnownTypes)", file,
        ]
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: output, stderr: errors)
    }
}
