#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pseudo-terminal pair standing in for a serial port. The gateway opens
/// `link` (a symlink to the slave, e.g. /dev/pts/3) as it would /dev/ttyUSB0;
/// the simulator talks on the master.
///
/// The simulator keeps the slave open itself, so the line survives the
/// gateway closing and reopening the port (otherwise the master would see a
/// hang-up). Baud, parity and stop bits a client sets on the slave change
/// nothing on a pty, which is fine.
final class PseudoTerminal {
    let link: String
    let slavePath: String
    let masterFD: Int32
    private let slaveFD: Int32

    init(link: String) throws {
        var master: Int32 = -1, slave: Int32 = -1
        guard openpty(&master, &slave, nil, nil, nil) == 0 else {
            throw SimulatorError.pseudoTerminalFailed(link: link, reason: errnoText())
        }
        var name = [CChar](repeating: 0, count: 256)
        guard ttyname_r(slave, &name, name.count) == 0 else {
            let reason = errnoText()
            close(master); close(slave)
            throw SimulatorError.pseudoTerminalFailed(link: link, reason: reason)
        }
        // Raw from the start: no echo of what the master writes, no CR/LF translation, no line discipline.
        var settings = termios()
        tcgetattr(slave, &settings)
        cfmakeraw(&settings)
        tcsetattr(slave, TCSANOW, &settings)
        // The master never blocks: if nobody reads the slave, what we write is dropped, as on a real line.
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        _ = fcntl(slave, F_SETFD, FD_CLOEXEC)
        self.link = link
        self.slavePath = String(cString: name)
        self.masterFD = master
        self.slaveFD = slave
        do {
            try PseudoTerminal.replaceLink(link, target: slavePath)
        } catch {
            close(master); close(slave)
            throw error
        }
    }

    deinit {
        // Remove the link only if it is still ours (another simulator may have taken the name over).
        if PseudoTerminal.linkTarget(link) == slavePath { unlink(link) }
        close(masterFD)
        close(slaveFD)
    }

    /// Creates `link` → `target`, replacing a stale symlink but never a real file.
    private static func replaceLink(_ link: String, target: String) throws {
        var info = stat()
        if lstat(link, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFLNK else {
                throw SimulatorError.linkFailed(link: link, target: target, reason: "it exists and is not a symbolic link; refusing to replace it")
            }
            guard unlink(link) == 0 else {
                throw SimulatorError.linkFailed(link: link, target: target, reason: errnoText())
            }
        }
        guard symlink(target, link) == 0 else {
            throw SimulatorError.linkFailed(link: link, target: target, reason: errnoText())
        }
    }

    private static func linkTarget(_ link: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(link, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Bytes written to the line that the gateway has not read yet.
    func unreadByteCount() -> Int {
        var count: Int32 = 0
        guard ioctl(slaveFD, UInt(FIONREAD), &count) == 0 else { return 0 }
        return Int(count)
    }

    /// Throws away what the gateway has not read. A real serial port drops
    /// what arrives while nobody has it open; a pty would keep it.
    func discardUnread() {
        tcflush(slaveFD, TCIFLUSH)
    }

    /// Reads what is there now (never blocks). Empty when nothing is waiting.
    func readAvailable() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let n = read(masterFD, &buffer, buffer.count)
            if n > 0 { return Array(buffer[0..<n]) }
            if n < 0 && errno == EINTR { continue }
            return []
        }
    }

    /// Writes as much as the line takes now; the rest is dropped (nobody is reading the port).
    /// Returns the number of bytes written.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Int {
        FileDescriptorIO.writeNonBlocking(masterFD, bytes)
    }
}

/// The write and read loops shared by every descriptor the simulator uses.
enum FileDescriptorIO {
    /// Writes without blocking, retrying EINTR; stops at EAGAIN or an error. Returns bytes written.
    @discardableResult
    static func writeNonBlocking(_ fd: Int32, _ bytes: [UInt8], isSocket: Bool = false) -> Int {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { raw -> Int in
                isSocket ? send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                    : write(fd, raw.baseAddress, raw.count)
            }
            if n > 0 { written += n; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        return written
    }

    /// Writes everything, blocking as needed, retrying EINTR. False on an error (e.g. EPIPE).
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { raw in write(fd, raw.baseAddress, raw.count) }
            if n > 0 { written += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 100)
                continue
            }
            return false
        }
        return true
    }
}
