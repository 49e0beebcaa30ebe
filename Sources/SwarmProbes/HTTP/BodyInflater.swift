import CSwarmProbes

/// Decodes a gzip or deflate response body chunk by chunk (zlib through `CSwarmInflate.h`), so the
/// probe can report the decoded size and match text in the decoded body without buffering it.
///
/// Decoding stops with an error past `limitBytes`, so a hostile body cannot burn unbounded CPU.
final class BodyInflater {
    /// The Content-Encoding values this inflater decodes.
    static func canDecode(_ encoding: String) -> Bool { ["gzip", "x-gzip", "deflate"].contains(encoding) }

    /// Decoded bytes beyond this stop decoding. Defaults to 256 MiB.
    static let defaultLimitBytes: UInt64 = 256 << 20
    /// Input kept for a raw-deflate retry; zlib rejects a missing header within the first 2 bytes.
    private static let replayLimitBytes = 64 * 1024

    private var inflater: OpaquePointer?
    private let limitBytes: UInt64
    /// RFC 9110 says deflate is zlib-wrapped, but some servers send raw deflate: until output appears,
    /// a "deflate" body's input is kept so it can be replayed once in raw mode.
    private var replay: [UInt8]?
    private var output = [UInt8](repeating: 0, count: 64 * 1024)

    private(set) var decodedBytes: UInt64 = 0
    /// True once the compressed stream's end was read.
    private(set) var finished = false

    /// - Parameter encoding: a value for which ``canDecode(_:)`` is true.
    init(encoding: String, limitBytes: UInt64 = defaultLimitBytes) {
        self.limitBytes = limitBytes
        replay = encoding == "deflate" ? [] : nil
        inflater = cswarm_inflater_create(Int32(CSWARM_INFLATE_AUTO))
    }

    deinit { cswarm_inflater_destroy(inflater) }

    /// Feeds compressed bytes and hands each decoded piece to `sink`.
    /// - Throws: ``ProbeError`` (`undecodableBody`) when the data is corrupt or decodes past the limit.
    func feed(_ bytes: some Collection<UInt8>, sink: ([UInt8]) -> Void) throws(ProbeError) {
        let input = Array(bytes)
        if replay != nil { replay? += input }
        if let kept = replay, kept.count > Self.replayLimitBytes { replay = nil }
        do {
            try inflate(input, sink: sink)
        } catch {
            guard let kept = replay, decodedBytes == 0 else { throw error }
            replay = nil
            cswarm_inflater_destroy(inflater)
            inflater = cswarm_inflater_create(Int32(CSWARM_INFLATE_RAW))
            try inflate(kept, sink: sink)
        }
        if decodedBytes > 0 { replay = nil }
    }

    private func inflate(_ input: [UInt8], sink: ([UInt8]) -> Void) throws(ProbeError) {
        guard let inflater else { throw ProbeError(.undecodableBody, "zlib could not allocate an inflater") }
        var offset = 0
        while !finished {
            var consumed = 0
            var produced = 0
            let rc = input.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    cswarm_inflater_step(
                        inflater,
                        source.baseAddress.map { $0 + offset },
                        source.count - offset,
                        &consumed,
                        target.baseAddress,
                        target.count,
                        &produced
                    )
                }
            }
            if rc == Int32(CSWARM_INFLATE_ERROR) {
                throw ProbeError(.undecodableBody, String(cString: cswarm_inflater_message(inflater)))
            }
            offset += consumed
            if produced > 0 {
                decodedBytes += UInt64(produced)
                sink(Array(output[0..<produced]))
            }
            if decodedBytes > limitBytes {
                throw ProbeError(
                    .undecodableBody,
                    "the body decodes to more than \(limitBytes) bytes; decoding stopped"
                )
            }
            if rc == Int32(CSWARM_INFLATE_END) { finished = true }
            // Done when the input is used up and zlib did not fill the output (nothing buffered inside).
            if offset >= input.count && produced < output.count { break }
            if consumed == 0 && produced == 0 { break }
        }
    }
}
