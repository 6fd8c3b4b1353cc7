#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GatewayModel

/// Line settings of a serial port, taken from a `[[bus]]`.
struct SerialLineSettings: Sendable, Equatable {
    var baud: Int
    var parity: Parity
    var dataBits: Int
    var stopBits: Int
    /// Ask the kernel's RS-485 mode (TIOCSRS485) where the port driver has one.
    var rs485: Bool

    init(baud: Int = 9600, parity: Parity = .none, dataBits: Int = 8, stopBits: Int = 1, rs485: Bool = true) {
        self.baud = baud
        self.parity = parity
        self.dataBits = dataBits
        self.stopBits = stopBits
        self.rs485 = rs485
    }

    init(_ bus: BusConfiguration) {
        self.init(baud: bus.baud, parity: bus.parity, dataBits: bus.dataBits, stopBits: bus.stopBits, rs485: bus.rs485)
    }

    /// Bits on the wire per character: start + data + parity + stop.
    var bitsPerCharacter: Int { 1 + dataBits + (parity == .none ? 0 : 1) + stopBits }

    static let supportedBauds: [(Int, speed_t)] = [
        (1200, speed_t(B1200)), (2400, speed_t(B2400)), (4800, speed_t(B4800)), (9600, speed_t(B9600)),
        (19200, speed_t(B19200)), (38400, speed_t(B38400)), (57600, speed_t(B57600)),
        (115200, speed_t(B115200)), (230400, speed_t(B230400)),
    ]
}

/// What one `SerialPort.read` call saw.
enum SerialRead: Equatable {
    /// This many bytes were copied into the buffer.
    case bytes(Int)
    /// Nothing arrived before the timeout.
    case timedOut
    /// The wake signal fired (the owner wants to stop or re-check something).
    case woken
}

// The C calls under names the methods below do not shadow.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }

/// A self-pipe another thread uses to wake a thread blocked in `poll()`.
final class WakeSignal: @unchecked Sendable {
    // Invariant: both descriptors are created in init, never reassigned, and closed in deinit only.
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        let rc = pipe(&fds)
        // Out of descriptors at start-up is not something a bus can work around.
        precondition(rc == 0, "pipe() failed: errno \(errno)")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    /// Wakes the waiting thread. Safe from any thread; never blocks (a full pipe already wakes).
    func signal() {
        var one: UInt8 = 1
        _ = SystemCall.retryingInterrupts { write(writeDescriptor, &one, 1) }
    }

    /// Empties the pipe so the next `poll()` waits again.
    func drain() {
        var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &scratch, { raw in
            SystemCall.retryingInterrupts { read(readDescriptor, raw.baseAddress, raw.count) }.result > 0
        }) {}
    }

    /// Sleeps until signalled or the timeout passes. Returns true when signalled.
    func wait(timeoutMilliseconds: Int32) -> Bool {
        var pfd = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
        let (n, _) = SystemCall.retryingInterrupts { poll(&pfd, 1, timeoutMilliseconds) }
        if n > 0 { drain(); return true }
        return false
    }
}

/// An open serial port (a tty) in raw mode: no echo, no line editing, no flow
/// control, reads that return at once (VMIN = VTIME = 0) and `poll()` for
/// timeouts. Not thread-safe: one owner thread uses it. Every call may block
/// for at most the timeout it is given.
///
/// The port is held exclusively (TIOCEXCL) so a second program cannot steal
/// bytes from it; root can still open it.
final class SerialPort {
    let path: String
    let settings: SerialLineSettings
    /// Whether the kernel's RS-485 mode is on for this port (false for USB adapters with auto-direction and ptys).
    private(set) var kernelRS485 = false
    // Invariant: `descriptor` is valid from init until deinit; only this object closes it.
    private let descriptor: Int32
    /// The device number opened, to notice the path now naming another device.
    private let deviceNumber: dev_t

    /// Opens and configures the port. Blocks only for the open and ioctl calls.
    ///
    /// - Throws: `SerialPortError.permissionDenied` (not in dialout), `.noSuchDevice`
    ///   (nothing plugged in), `.busy`, `.notASerialPort` (a plain file or a
    ///   directory), `.unsupportedSetting` (baud, data bits, stop bits), `.systemCall`.
    init(path: String, settings: SerialLineSettings) throws(SerialPortError) {
        self.path = path
        self.settings = settings
        guard let speed = SerialLineSettings.supportedBauds.first(where: { $0.0 == settings.baud })?.1 else {
            throw .unsupportedSetting(path: path, setting: "baud", value: String(settings.baud),
                                      supported: SerialLineSettings.supportedBauds.map { String($0.0) }.joined(separator: ", "))
        }
        let sizeFlag: tcflag_t
        switch settings.dataBits {
        case 5: sizeFlag = tcflag_t(CS5)
        case 6: sizeFlag = tcflag_t(CS6)
        case 7: sizeFlag = tcflag_t(CS7)
        case 8: sizeFlag = tcflag_t(CS8)
        default:
            throw .unsupportedSetting(path: path, setting: "data_bits", value: String(settings.dataBits), supported: "5, 6, 7, 8")
        }
        guard settings.stopBits == 1 || settings.stopBits == 2 else {
            throw .unsupportedSetting(path: path, setting: "stop_bits", value: String(settings.stopBits), supported: "1, 2")
        }

        // O_NONBLOCK: a port without carrier must not block the open; O_NOCTTY:
        // the daemon must never acquire it as its controlling terminal.
        let (fd, openErrno) = SystemCall.retryingInterrupts { open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) }
        guard fd >= 0 else { throw SerialPortError.opening(path, errno: openErrno) }

        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw .systemCall(path: path, operation: "fstat", errno: code)
        }
        if (info.st_mode & S_IFMT) != S_IFCHR {
            close(fd)
            throw .notASerialPort(path: path)
        }

        var tio = termios()
        if tcgetattr(fd, &tio) != 0 {
            let code = errno
            close(fd)
            throw code == ENOTTY || code == EINVAL ? .notASerialPort(path: path)
                : .systemCall(path: path, operation: "tcgetattr", errno: code)
        }
        cfmakeraw(&tio)
        tio.c_cflag &= ~(tcflag_t(CSIZE | PARENB | PARODD | CSTOPB) | tcflag_t(CRTSCTS))
        tio.c_cflag |= sizeFlag | tcflag_t(CREAD | CLOCAL)
        switch settings.parity {
        case .none: break
        case .even: tio.c_cflag |= tcflag_t(PARENB)
        case .odd: tio.c_cflag |= tcflag_t(PARENB | PARODD)
        }
        if settings.stopBits == 2 { tio.c_cflag |= tcflag_t(CSTOPB) }
        tio.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
        // Reads return what is there at once; poll() provides the timeouts.
        withUnsafeMutableBytes(of: &tio.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        cfsetispeed(&tio, speed)
        cfsetospeed(&tio, speed)
        if tcsetattr(fd, TCSANOW, &tio) != 0 {
            let code = errno
            close(fd)
            throw .systemCall(path: path, operation: "tcsetattr (\(settings.baud) baud)", errno: code)
        }
        // Drop whatever sat in the kernel buffer while nobody listened: stale
        // frames would carry the wrong timestamp.
        tcflush(fd, TCIFLUSH)
        if ioctl(fd, UInt(TIOCEXCL)) != 0 && errno == EBUSY {
            close(fd)
            throw .busy(path: path)
        }
        descriptor = fd
        deviceNumber = info.st_rdev
        if settings.rs485 { kernelRS485 = Self.enableKernelRS485(fd) }
    }

    deinit {
        // Exclusive mode outlives our descriptor while anyone else holds the tty
        // (a simulator keeping a pty slave open), which would lock us out on reopen.
        _ = ioctl(descriptor, UInt(TIOCNXCL))
        // Not retried on EINTR: Linux has released the descriptor either way.
        close(descriptor)
    }

    /// Layout of `struct serial_rs485` (linux/serial.h): flags, two delays, five reserved words.
    private struct KernelRS485 {
        var flags: UInt32 = 0
        var delayRTSBeforeSend: UInt32 = 0
        var delayRTSAfterSend: UInt32 = 0
        var padding: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0)
    }

    /// Turns on the kernel's RS-485 direction control where the driver has it.
    /// Drivers without it (most USB adapters, which switch direction in
    /// hardware, and ptys) answer ENOTTY/EINVAL: that is fine.
    private static func enableKernelRS485(_ fd: Int32) -> Bool {
        var conf = KernelRS485()
        guard ioctl(fd, UInt(TIOCGRS485), &conf) == 0 else { return false }
        let enabled: UInt32 = 1 << 0, rtsOnSend: UInt32 = 1 << 1
        // Already set up (e.g. by a device tree overlay): keep the board's own polarity and delays.
        if conf.flags & enabled != 0 { return true }
        conf.flags |= enabled | rtsOnSend
        return ioctl(fd, UInt(TIOCSRS485), &conf) == 0
    }

    /// Waits up to `timeoutMilliseconds` for bytes and copies what is there.
    /// Blocks the calling thread (the bus's owner thread) for at most the timeout.
    ///
    /// - Throws: `SerialPortError.vanished` when the port hung up (POLLHUP,
    ///   POLLERR), a read returns end-of-file, EIO or ENXIO (adapter unplugged);
    ///   `.systemCall` for anything unexpected.
    func read(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int32,
              wake: WakeSignal? = nil) throws(SerialPortError) -> SerialRead {
        var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        if let wake { fds.append(pollfd(fd: wake.readDescriptor, events: Int16(POLLIN), revents: 0)) }
        let (ready, pollErrno) = SystemCall.retryingInterrupts { poll(&fds, nfds_t(fds.count), timeoutMilliseconds) }
        guard ready >= 0 else { throw .systemCall(path: path, operation: "poll", errno: pollErrno) }
        if fds.count > 1 && fds[1].revents != 0 {
            wake?.drain()
            return .woken
        }
        if ready == 0 { return .timedOut }
        let events = Int32(fds[0].revents)
        if events & Int32(POLLNVAL) != 0 {
            throw .vanished(path: path, reason: "descriptor no longer valid")
        }
        // Read before honouring a hang-up: bytes that arrived before it are still good.
        if events & Int32(POLLIN) != 0 {
            let (n, readErrno) = SystemCall.retryingInterrupts { systemRead(descriptor, buffer.baseAddress, buffer.count) }
            if n > 0 { return .bytes(n) }
            if n == 0 { throw .vanished(path: path, reason: "end of file") }
            switch readErrno {
            case EAGAIN, EWOULDBLOCK: return .timedOut
            case EIO, ENXIO, ENODEV: throw .vanished(path: path, reason: String(cString: strerror(readErrno)))
            default: throw .systemCall(path: path, operation: "read", errno: readErrno)
            }
        }
        if events & Int32(POLLHUP) != 0 { throw .vanished(path: path, reason: "hang-up") }
        if events & Int32(POLLERR) != 0 { throw .vanished(path: path, reason: "error condition") }
        return .timedOut
    }

    /// Writes all bytes, waiting up to `timeoutMilliseconds` for room each time the buffer is full.
    func write(_ bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int32) throws(SerialPortError) {
        var offset = 0
        while offset < bytes.count {
            let (n, writeErrno) = SystemCall.retryingInterrupts { systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset) }
            if n > 0 { offset += n; continue }
            switch writeErrno {
            case EAGAIN, EWOULDBLOCK:
                var pfd = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let (ready, pollErrno) = SystemCall.retryingInterrupts { poll(&pfd, 1, timeoutMilliseconds) }
                if ready < 0 { throw .systemCall(path: path, operation: "poll", errno: pollErrno) }
                if ready == 0 { throw .systemCall(path: path, operation: "write", errno: ETIMEDOUT) }
            case EIO, ENXIO, ENODEV:
                throw .vanished(path: path, reason: String(cString: strerror(writeErrno)))
            default:
                throw .systemCall(path: path, operation: "write", errno: writeErrno)
            }
        }
    }

    /// Checks that the configured path still names the device we hold open.
    /// A USB adapter unplugged and replugged gets a new node (and by-id link)
    /// while our descriptor still points at the dead one.
    ///
    /// - Throws: `SerialPortError.vanished` when the path is gone or names another device.
    func checkStillPresent() throws(SerialPortError) {
        var info = stat()
        if stat(path, &info) != 0 {
            throw .vanished(path: path, reason: "the device path disappeared")
        }
        if info.st_rdev != deviceNumber {
            throw .vanished(path: path, reason: "the path now names another device")
        }
    }
}
