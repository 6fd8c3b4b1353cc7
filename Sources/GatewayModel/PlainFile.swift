#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
private let systemWrite = Darwin.write
#endif

/// Small files and directories through plain system calls, without Foundation
/// (whose libraries cost the daemon ~9 MB of resident memory). Every failure
/// names the path and the system's reason. All calls block: use them where
/// blocking is fine (start-up, owner threads), never on the cooperative pool.
public enum PlainFile {
    /// Whether something exists at `path` (symbolic links followed, as `test -e`).
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Whether `path` is a directory (symbolic links followed).
    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether this process may read `path` now.
    public static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    /// The whole file. Refuses files larger than `limit` bytes (a config or key file is small).
    /// - Throws: `PlainFileError.cannotOpen`, `.cannotRead`, `.tooLarge`.
    public static func read(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
        let (fd, openErrno) = SystemCall.retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw PlainFileError.cannotOpen(path: path, errno: openErrno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let (n, readErrno) = chunk.withUnsafeMutableBytes { raw in SystemCall.retryingInterrupts { systemRead(fd, raw.baseAddress, raw.count) } }
            if n < 0 { throw PlainFileError.cannotRead(path: path, errno: readErrno) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw PlainFileError.tooLarge(path: path, limitBytes: limit) }
        }
    }

    /// Replaces `path` with `bytes` atomically: a temporary file beside it is
    /// written (and flushed to disk when `sync`) and renamed over it, so a
    /// reader sees the old file or the new one, never half of one.
    /// - Throws: `PlainFileError.cannotOpen`, `.cannotWrite`, `.cannotRename` (the temporary file is removed).
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644, sync: Bool = true) throws {
        let temporary = temporaryPath(beside: path)
        try write(temporary, bytes: bytes, mode: mode, sync: sync)
        guard rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw PlainFileError.cannotRename(from: temporary, to: path, errno: e)
        }
    }

    /// `dir/.name.PID.tmp` for `dir/name`: same directory, so the rename stays on one file system.
    static func temporaryPath(beside path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory).\(name).\(getpid()).tmp"
    }

    /// Creates or truncates `path` and writes `bytes`, then fsyncs it when `sync`.
    /// - Throws: `PlainFileError.cannotOpen`, `.cannotWrite` (the file is removed again).
    public static func write(_ path: String, bytes: [UInt8], mode: mode_t = 0o644, sync: Bool = true) throws {
        let (fd, openErrno) = SystemCall.retryingInterrupts { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw PlainFileError.cannotOpen(path: path, errno: openErrno) }
        if let e = writeAll(fd, bytes) ?? (!sync || fsync(fd) == 0 ? nil : errno) {
            close(fd)
            unlink(path)
            throw PlainFileError.cannotWrite(path: path, errno: e)
        }
        close(fd)
    }

    /// Writes every byte to `fd`; nil, or the errno that stopped it.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        writeAll(fd, bytes, through: { systemWrite($0, $1, $2) })
    }

    /// Writes every byte to `fd` through `call` (a socket's `send` with
    /// `MSG_NOSIGNAL`, say), retrying EINTR; nil, or the errno that stopped it.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], through call: (Int32, UnsafeRawPointer?, Int) -> Int) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { call(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                return e
            }
            offset += n
        }
        return nil
    }

    /// `mkdir -p`: creates `path` and any missing parents (mode 0755 before umask).
    /// Succeeds when the directory is already there.
    /// - Throws: `PlainFileError.cannotCreateDirectory` naming the part that failed
    ///   (permission denied, a file in the way, read-only file system).
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        if isDirectory(path) { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += part
            if mkdir(prefix, mode) != 0 {
                let e = errno
                // Already there (or made by someone else meanwhile) is fine if it is a directory.
                if e == EEXIST, isDirectory(prefix) {
                    // continue below
                } else if e == EEXIST {
                    throw PlainFileError.cannotCreateDirectory(path: prefix, errno: ENOTDIR)
                } else if !isDirectory(prefix) {
                    throw PlainFileError.cannotCreateDirectory(path: prefix, errno: e)
                }
            }
            prefix += "/"
        }
    }
}

/// Why a file or directory operation failed. The descriptions name the path and
/// the system's reason, e.g. "cannot open /etc/gatewayd/mqtt.password: Permission denied".
public enum PlainFileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, errno: Int32)
    case cannotRead(path: String, errno: Int32)
    case cannotWrite(path: String, errno: Int32)
    case cannotRename(from: String, to: String, errno: Int32)
    case cannotCreateDirectory(path: String, errno: Int32)
    case tooLarge(path: String, limitBytes: Int)

    /// The errno behind the failure, if there is one (ENOENT, EACCES, ENOSPC…).
    public var errno: Int32? {
        switch self {
        case .cannotOpen(_, let e), .cannotRead(_, let e), .cannotWrite(_, let e),
             .cannotRename(_, _, let e), .cannotCreateDirectory(_, let e):
            return e
        case .tooLarge: return nil
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let path, let e): return "cannot open \(path): \(SystemCall.errorText(e))"
        case .cannotRead(let path, let e): return "cannot read \(path): \(SystemCall.errorText(e))"
        case .cannotWrite(let path, let e): return "cannot write \(path): \(SystemCall.errorText(e))"
        case .cannotRename(let from, let to, let e): return "cannot rename \(from) to \(to): \(SystemCall.errorText(e))"
        case .cannotCreateDirectory(let path, let e): return "cannot create the directory \(path): \(SystemCall.errorText(e))"
        case .tooLarge(let path, let limit): return "\(path) is larger than \(limit) bytes; is it the right file?"
        }
    }
}

/// errno handling in one place: EINTR retried, messages from strerror.
public enum SystemCall {
    /// Runs a system call, retrying while it fails with EINTR (a signal arrived
    /// mid-call), and captures errno at once, before anything can overwrite it.
    @inline(__always)
    public static func retryingInterrupts<T: FixedWidthInteger & SignedInteger>(_ call: () -> T) -> (result: T, errno: Int32) {
        while true {
            let result = call()
            if result >= 0 { return (result, 0) }
            let code = errno
            if code != EINTR { return (result, code) }
        }
    }

    /// The system's words for an errno, e.g. "No such file or directory".
    public static func errorText(_ e: Int32) -> String { String(cString: strerror(e)) }
}

/// The process environment without Foundation's ProcessInfo.
public enum ProcessEnvironment {
    /// Every variable, as `ProcessInfo.processInfo.environment` gave them
    /// (an entry without `=` is skipped; a repeated name keeps its first value, as getenv does).
    public static func variables() -> [String: String] {
        var out: [String: String] = [:]
        var p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        while let entry = p?.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                let name = String(text[..<eq])
                if out[name] == nil { out[name] = String(text[text.index(after: eq)...]) }
            }
            p = p! + 1
        }
        return out
    }

    /// One variable, or nil when unset.
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// Standard error as the daemon logs to it: one write(2) per call, so lines
/// from different threads do not interleave mid-line.
public enum StandardError {
    public static func write(_ text: String) {
        _ = PlainFile.writeAll(2, Array(text.utf8))
    }
}
