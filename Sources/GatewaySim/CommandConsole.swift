#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The stdin/stdout conversation: commands come in one per line, every
/// command gets exactly one line back (`ok ...` or `error ...`).
///
/// stdout is written with plain `write(2)` per line, so nothing sits in a
/// buffer when a test reads through a pipe. EOF on stdin only stops reading
/// commands; the simulator keeps serving until `quit` or a signal.
final class CommandConsole {
    private var pending: [UInt8] = []
    private(set) var isClosed = false

    init() {
        // stdin is polled with the other descriptors; reads happen only when poll says so.
        signal(SIGPIPE, SIG_IGN)
    }

    var inputFD: Int32 { 0 }

    /// Reads what stdin has now and returns the complete lines (without CR/LF).
    func readLines() -> [String] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(0, &buffer, buffer.count)
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { return [] }
            isClosed = true
        } else if n == 0 {
            isClosed = true
        } else {
            pending.append(contentsOf: buffer[0..<n])
        }
        var lines: [String] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = Array(pending[..<newline])
            pending.removeSubrange(...newline)
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            lines.append(String(decoding: line, as: UTF8.self))
        }
        if isClosed && !pending.isEmpty {
            // A last command without its newline still counts.
            lines.append(String(decoding: pending, as: UTF8.self))
            pending.removeAll()
        }
        return lines
    }

    /// Prints one line on stdout at once. A reader that went away is not an error.
    static func say(_ line: String) {
        _ = FileDescriptorIO.writeAll(1, Array((line + "\n").utf8))
    }

    /// A diagnostic on stderr.
    static func note(_ line: String) {
        _ = FileDescriptorIO.writeAll(2, Array(("gateway-sim: " + line + "\n").utf8))
    }
}

/// SIGTERM and SIGINT become a byte on a pipe the event loop polls, so the
/// loop stops between requests and cleans up (links removed, sockets closed).
enum StopSignal {
    // Written once before the handlers are installed; read by the handler.
    nonisolated(unsafe) private static var writeFD: Int32 = -1
    nonisolated(unsafe) private(set) static var readFD: Int32 = -1

    static func install() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fatalError("pipe() failed: \(errnoText())") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
        for sig in [SIGTERM, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                var byte: UInt8 = 1
                _ = write(StopSignal.writeFD, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, nil)
        }
    }
}
