import CZlib
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line source over a plain or gzip file, read through zlib in 1 MiB chunks
/// (`gzread` passes plain files through unchanged). Lines point into the
/// buffer and stay valid until the next call.
final class ChunkedSource {
    struct Line {
        var base: UnsafePointer<UInt8>
        var count: Int
    }

    let path: String
    private let file: gzFile
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEnd = false

    init(path: String) throws {
        self.path = path
        guard let f = gzopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw ReplayInputError(path: path, line: 0, message: "cannot open: \(reason)")
        }
        file = f
        gzbuffer(f, 1 << 20)
        capacity = 1 << 20
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        gzclose(file)
        buffer.deallocate()
    }

    /// The next line without its `\n`, or `nil` at the end of the file.
    func nextLine() throws -> Line? {
        while true {
            if start < end, let nl = memchr(buffer + start, 0x0A, end - start) {
                let i = buffer.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                defer { start = i + 1 }
                return Line(base: UnsafePointer(buffer + start), count: i - start)
            }
            if atEnd {
                guard start < end else { return nil }
                defer { start = end }
                return Line(base: UnsafePointer(buffer + start), count: end - start)
            }
            try refill()
        }
    }

    private func refill() throws {
        // Keep the unfinished line: move it to the front, grow if it fills the buffer.
        let pending = end - start
        if pending > 0 && start > 0 { memmove(buffer, buffer + start, pending) }
        start = 0
        end = pending
        if end == capacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        let n = gzread(file, buffer + end, UInt32(capacity - end))
        if n < 0 {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
            throw ReplayInputError(path: path, line: 0, message: "cannot read: \(message) (damaged or truncated gzip?)")
        }
        if n == 0 {
            atEnd = true
            // gzread returns 0 both at a clean end and at a truncated stream; tell them apart.
            var code: Int32 = 0
            let message = gzerror(file, &code)
            if code != Z_OK && code != Z_STREAM_END {
                throw ReplayInputError(path: path, line: 0, message: "cannot read: \(message.map { String(cString: $0) } ?? "error") (damaged or truncated gzip?)")
            }
        }
        end += Int(n)
    }
}
