#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import XCTest
@testable import Drivers
import GatewayModel

/// A pseudo-terminal pair standing in for a USB serial adapter: the code under
/// test opens `link` (a symlink to the slave, like /dev/serial/by-id/...)
/// while the test talks on the master. `unplug()` and `plugIn()` make the
/// adapter vanish and come back at the same path.
final class TestSerialLine {
    let directory: String
    let link: String
    private(set) var master: Int32 = -1
    private(set) var slave: Int32 = -1
    private(set) var slavePath = ""

    init() throws {
        var template = Array("/tmp/gatewayd-serial-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw TestLineError("mkdtemp failed: errno \(errno)") }
        directory = String(cString: dir)
        link = directory + "/ttyPARK"
        try plugIn()
    }

    deinit {
        unplug()
        rmdir(directory)
    }

    /// A new pty appears at `link`.
    func plugIn() throws {
        var m: Int32 = -1, s: Int32 = -1
        guard openpty(&m, &s, nil, nil, nil) == 0 else { throw TestLineError("openpty failed: errno \(errno)") }
        // Raw before anything is written: the line discipline would otherwise echo and translate.
        var settings = termios()
        tcgetattr(s, &settings)
        cfmakeraw(&settings)
        tcsetattr(s, TCSANOW, &settings)
        var name = [CChar](repeating: 0, count: 256)
        guard ttyname_r(s, &name, name.count) == 0 else { throw TestLineError("ttyname_r failed") }
        master = m
        slave = s
        slavePath = String(cString: name)
        unlink(link)
        guard symlink(slavePath, link) == 0 else { throw TestLineError("symlink failed: errno \(errno)") }
    }

    /// The adapter is pulled: the path disappears and the line hangs up.
    func unplug() {
        unlink(link)
        if master >= 0 { close(master); master = -1 }
        if slave >= 0 { close(slave); slave = -1 }
    }

    /// Writes bytes as the concentrator would, all at once.
    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; XCTFail("write to pty master failed: errno \(errno)"); return }
            offset += n
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads what the code under test wrote, waiting up to `timeoutMilliseconds`.
    func receive(count: Int, timeoutMilliseconds: Int32 = 5000) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while out.count < count {
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeoutMilliseconds) > 0 else { break }
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}

struct TestLineError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits (polling) until `condition` holds; fails the test after a generous deadline.
/// The deadline only guards against hangs: tests assert what happens, not when.
func waitUntil(_ what: String, timeoutSeconds: Double = 15, file: StaticString = #filePath, line: UInt = #line,
               _ condition: () -> Bool) {
    let deadline = SystemClock.monotonicNow() + UInt64(timeoutSeconds * 1e9)
    while !condition() {
        if SystemClock.monotonicNow() > deadline {
            XCTFail("timed out waiting until \(what)", file: file, line: line)
            return
        }
        usleep(5_000)
    }
}

final class SerialLinePortTests: XCTestCase {
    func testMissingDeviceSaysPlugInTheAdapter() {
        XCTAssertThrowsError(try SerialPort(path: "/dev/ttyUSB-gatewayd-test-absent", settings: .init())) { error in
            XCTAssertEqual(error as? SerialPortError, .noSuchDevice(path: "/dev/ttyUSB-gatewayd-test-absent"))
            let text = "\(error)"
            XCTAssertTrue(text.contains("no such device"), text)
            XCTAssertTrue(text.contains("/dev/serial/by-id/"), text)
        }
    }

    func testPermissionAndBusyErrorsTellTheTechnicianWhatToDo() {
        let denied = SerialPortError.opening("/dev/ttyUSB1", errno: EACCES)
        XCTAssertEqual(denied, .permissionDenied(path: "/dev/ttyUSB1"))
        XCTAssertTrue(denied.description.hasPrefix("cannot open /dev/ttyUSB1: permission denied"), denied.description)
        XCTAssertTrue(denied.description.contains("dialout"), denied.description)
        XCTAssertEqual(SerialPortError.opening("/dev/ttyUSB1", errno: EBUSY), .busy(path: "/dev/ttyUSB1"))
        XCTAssertEqual(SerialPortError.opening("/dev/ttyUSB1", errno: ENODEV), .noSuchDevice(path: "/dev/ttyUSB1"))
        XCTAssertTrue(SerialPortError.opening("/dev/ttyUSB1", errno: EMFILE).description.contains("errno \(EMFILE)"))
    }

    func testPlainFileIsNotASerialPort() throws {
        let path = "/tmp/gatewayd-not-a-tty-\(getpid())"
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        close(fd)
        defer { unlink(path) }
        XCTAssertThrowsError(try SerialPort(path: path, settings: .init())) { error in
            XCTAssertEqual(error as? SerialPortError, .notASerialPort(path: path))
            XCTAssertTrue("\(error)".contains("not a serial port"))
        }
        XCTAssertThrowsError(try SerialPort(path: "/tmp", settings: .init())) { error in
            XCTAssertEqual(error as? SerialPortError, .notASerialPort(path: "/tmp"))
        }
        XCTAssertThrowsError(try SerialPort(path: "/dev/null", settings: .init())) { error in
            XCTAssertEqual(error as? SerialPortError, .notASerialPort(path: "/dev/null"))
        }
    }

    func testUnsupportedLineSettingsAreRefusedWithTheChoices() throws {
        let line = try TestSerialLine()
        XCTAssertThrowsError(try SerialPort(path: line.link, settings: .init(baud: 14400))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("baud 14400 is not supported"), text)
            XCTAssertTrue(text.contains("9600") && text.contains("230400"), text)
        }
        XCTAssertThrowsError(try SerialPort(path: line.link, settings: .init(dataBits: 9))) { error in
            XCTAssertTrue("\(error)".contains("data_bits 9"))
        }
        XCTAssertThrowsError(try SerialPort(path: line.link, settings: .init(stopBits: 3))) { error in
            XCTAssertTrue("\(error)".contains("stop_bits 3"))
        }
    }

    func testOpensRawWithTheConfiguredLineSettings() throws {
        let line = try TestSerialLine()
        // A pty forces 8 data bits and no parity whatever is asked (drivers/tty/pty.c),
        // so only speed, stop bits, flow control and the raw settings can be checked here.
        let port = try SerialPort(path: line.link, settings: .init(baud: 230400, parity: .none, dataBits: 8, stopBits: 2))
        var tio = termios()
        XCTAssertEqual(tcgetattr(line.slave, &tio), 0)
        XCTAssertEqual(cfgetospeed(&tio), speed_t(B230400))
        XCTAssertEqual(cfgetispeed(&tio), speed_t(B230400))
        XCTAssertEqual(tio.c_cflag & tcflag_t(CSIZE), tcflag_t(CS8))
        XCTAssertNotEqual(tio.c_cflag & tcflag_t(CLOCAL), 0)
        XCTAssertNotEqual(tio.c_cflag & tcflag_t(CSTOPB), 0)
        XCTAssertEqual(tio.c_cflag & tcflag_t(CRTSCTS), 0)
        XCTAssertEqual(tio.c_lflag & tcflag_t(ICANON | ECHO), 0)
        XCTAssertEqual(tio.c_iflag & tcflag_t(IXON | IXOFF | ICRNL), 0)
        withUnsafeBytes(of: tio.c_cc) { cc in
            XCTAssertEqual(cc[Int(VMIN)], 0)
            XCTAssertEqual(cc[Int(VTIME)], 0)
        }
        // A pty has no RS-485 mode; asking must not fail the open.
        XCTAssertFalse(port.kernelRS485)
        _ = port
    }

    func testReadsWritesTimesOutAndWakes() throws {
        let line = try TestSerialLine()
        let port = try SerialPort(path: line.link, settings: .init())
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { buffer.deallocate() }

        XCTAssertEqual(try port.read(into: buffer, timeoutMilliseconds: 20), .timedOut)

        line.send("$PKH\r\n")
        var received: [UInt8] = []
        waitUntil("the bytes arrive") {
            if case .bytes(let n) = (try? port.read(into: buffer, timeoutMilliseconds: 100)) ?? .timedOut {
                received += buffer[0..<n]
            }
            return received.count >= 6
        }
        XCTAssertEqual(String(decoding: received, as: UTF8.self), "$PKH\r\n")

        try Array("ping".utf8).withUnsafeBytes { try port.write($0, timeoutMilliseconds: 1000) }
        XCTAssertEqual(String(decoding: line.receive(count: 4), as: UTF8.self), "ping")

        let wake = WakeSignal()
        wake.signal()
        XCTAssertEqual(try port.read(into: buffer, timeoutMilliseconds: 10_000, wake: wake), .woken)
        // Drained: the next wait times out again.
        XCTAssertEqual(try port.read(into: buffer, timeoutMilliseconds: 20, wake: wake), .timedOut)
    }

    func testHangUpIsReportedAsVanished() throws {
        let line = try TestSerialLine()
        let port = try SerialPort(path: line.link, settings: .init())
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { buffer.deallocate() }
        line.unplug()
        var caught: SerialPortError?
        waitUntil("the read reports the hang-up") {
            do { _ = try port.read(into: buffer, timeoutMilliseconds: 100) } catch { caught = error as? SerialPortError }
            return caught != nil
        }
        guard case .vanished(let path, _) = caught else { return XCTFail("expected vanished, got \(String(describing: caught))") }
        XCTAssertEqual(path, line.link)
        XCTAssertTrue(caught!.description.contains("reopening"))
    }

    func testPathNowNamingAnotherDeviceIsReportedAsVanished() throws {
        let line = try TestSerialLine()
        let port = try SerialPort(path: line.link, settings: .init())
        XCTAssertNoThrow(try port.checkStillPresent())
        // Keep the old pty alive so only the path check can notice.
        let other = try TestSerialLine()
        unlink(line.link)
        XCTAssertThrowsError(try port.checkStillPresent()) { error in
            XCTAssertTrue("\(error)".contains("disappeared"), "\(error)")
        }
        XCTAssertEqual(symlink(other.slavePath, line.link), 0)
        XCTAssertThrowsError(try port.checkStillPresent()) { error in
            XCTAssertTrue("\(error)".contains("another device"), "\(error)")
        }
    }
}
