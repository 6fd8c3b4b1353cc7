import GatewayModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin helpers over a Unix stream socket file descriptor. errno is captured
/// right after each failing call, and EINTR is retried here, in one place.
enum UnixSocket {
    static let maxPathBytes = 107

    /// Fills a sockaddr_un for `path`; nil when the path does not fit.
    static func address(_ path: String) -> sockaddr_un? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maxPathBytes else { return nil }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return addr
    }

    static func newSocket() -> Int32 {
        #if canImport(Glibc)
        return socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        return socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
    }

    /// connect(2); returns 0 or the errno.
    static func connect(_ fd: Int32, _ addr: sockaddr_un) -> Int32 {
        var a = addr
        while true {
            let rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    #if canImport(Glibc)
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    #else
                    Darwin.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    #endif
                }
            }
            if rc == 0 { return 0 }
            let e = errno
            if e == EINTR { continue }
            return e
        }
    }

    /// Sets send and receive timeouts so a stuck peer cannot hold us forever.
    static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: .init((seconds - Double(Int(seconds))) * 1e6))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all bytes; returns nil or the errno. `send` with MSG_NOSIGNAL: a
    /// client that hung up gives EPIPE here instead of killing the daemon.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        PlainFile.writeAll(fd, bytes, through: { send($0, $1, $2, Int32(MSG_NOSIGNAL)) })
    }

    enum LineResult {
        case line([UInt8])
        /// The peer closed before a newline.
        case closed
        case failed(Int32)
        case tooLong
    }

    /// Reads up to the first "\n" (not included), at most `limit` bytes.
    static func readLine(_ fd: Int32, limit: Int) -> LineResult {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                return .failed(e)
            }
            if n == 0 { return .closed }
            if let nl = chunk[0..<n].firstIndex(of: 0x0A) {
                out.append(contentsOf: chunk[0..<nl])
                return .line(out)
            }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { return .tooLong }
        }
    }

    static func errorText(_ e: Int32) -> String { String(cString: strerror(e)) }
}
