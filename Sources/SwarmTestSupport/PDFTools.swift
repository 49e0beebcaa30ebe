import Foundation

/// poppler's command-line tools on a PDF, for tests that read what a report says and how it
/// renders: `pdftotext`, `pdfinfo`, `pdftoppm`.
public struct PDFFile: Sendable {
    public let path: String
    private let scratch: String

    public init(path: String, scratch: String) {
        self.path = path
        self.scratch = scratch
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let (status, output) = try ChildProcess.run("/usr/bin/\(tool)", arguments, in: scratch)
        guard status == 0 else {
            throw FixtureError("\(tool) \(arguments.joined(separator: " ")) exited with \(status): \(output)")
        }
        return output
    }

    /// The text of `pages` (all when nil) in reading order, as `pdftotext -layout` extracts it.
    public func text(page: Int? = nil) throws -> String {
        let out = "\(scratch)/text-\(UUID().uuidString).txt"
        _ = try run("pdftotext", ["-layout"] + (page.map { ["-f", "\($0)", "-l", "\($0)"] } ?? []) + [path, out])
        return try String(contentsOfFile: out, encoding: .utf8)
    }

    /// `pdfinfo`'s "Key: value" lines.
    public func info() throws -> [String: String] {
        var fields: [String: String] = [:]
        for line in try run("pdfinfo", [path]).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    public func pageCount() throws -> Int { Int(try info()["Pages"] ?? "") ?? 0 }

    /// Page `page` rendered at `dpi` by `pdftoppm` (a binary PPM, read back as pixels).
    public func render(page: Int, dpi: Int = 50) throws -> Raster {
        let prefix = "\(scratch)/page-\(UUID().uuidString)"
        _ = try run("pdftoppm", ["-r", "\(dpi)", "-f", "\(page)", "-l", "\(page)", "-singlefile", path, prefix])
        return try Raster(ppm: Data(contentsOf: URL(fileURLWithPath: "\(prefix).ppm")))
    }
}

/// An RGB image from a binary PPM (P6, maxval 255).
public struct Raster: Sendable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    init(ppm: Data) throws {
        let bytes = [UInt8](ppm)
        var fields: [Int] = []
        var index = 2
        guard bytes.count > 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "6") else {
            throw FixtureError("not a binary PPM")
        }
        while fields.count < 3 && index < bytes.count {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D {
                index += 1
            }
            var value = 0
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 0x30)
                index += 1
            }
            fields.append(value)
        }
        index += 1
        guard fields.count == 3, fields[2] == 255, bytes.count - index >= fields[0] * fields[1] * 3 else {
            throw FixtureError("unexpected PPM header \(fields)")
        }
        width = fields[0]
        height = fields[1]
        pixels = Array(bytes[index..<(index + width * height * 3)])
    }

    /// Pixels that are not (nearly) white.
    public var inked: Int {
        stride(from: 0, to: pixels.count, by: 3).filter {
            Int(pixels[$0]) + Int(pixels[$0 + 1]) + Int(pixels[$0 + 2]) < 720
        }
        .count
    }

    /// Pixels where blue clearly dominates (the charts' series colour), not grey text.
    public var blue: Int {
        stride(from: 0, to: pixels.count, by: 3).filter {
            Int(pixels[$0 + 2]) > 150 && Int(pixels[$0 + 2]) - Int(pixels[$0]) > 60
        }.count
    }
}
