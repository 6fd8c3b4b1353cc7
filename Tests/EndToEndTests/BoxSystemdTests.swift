import Foundation
import GatewayTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket the test owns, standing in for systemd's notify socket.
final class NotifySocket {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var thread: Thread?

    init(directory: String) {
        path = directory + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        precondition(fd >= 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(rc == 0, "cannot bind \(path)")
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let t = Thread { [weak self] in self?.receiveLoop() }
        thread = t
        t.start()
    }

    deinit { close(fd) }

    private func receiveLoop() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                lock.lock(); received.append(text); lock.unlock()
            } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                return
            }
        }
    }

    /// Every datagram so far, oldest first.
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return received }
    /// Every `KEY=VALUE` line of every datagram.
    var lines: [String] { messages.flatMap { $0.split(separator: "\n").map(String.init) } }
    func count(_ line: String) -> Int { lines.filter { $0 == line }.count }
}

/// gatewayd under a stand-in systemd: the notify protocol, the progress
/// watchdog (with a really wedged store writer), the unit file.
final class BoxSystemdTests: XCTestCase {
    static func config(simPort: Int, units: String = "") -> String {
        """
        [gateway]
        id = "gw-box"
        data_dir = "@DATA_DIR@"

        [[bus]]
        name = "lan"
        type = "modbus-tcp"
        host = "127.0.0.1"
        port = \(simPort)
        timeout = "300ms"

        [[device]]
        id = "flow"
        bus = "lan"
        unit_id = 2
        kind = "water_meter"
        interval = "200ms"
          [[device.point]]
          name = "flow_m3h"
          address = 0
          type = "float32"
          unit = "m3/h"
        \(units)
        """
    }

    /// READY=1 after start with a STATUS line, WATCHDOG=1 repeatedly at half of WATCHDOG_USEC,
    /// STOPPING=1 on SIGTERM; a gatewayd without NOTIFY_SOCKET runs as before (other tests).
    func testNotifiesReadyStatusAndWatchdog() throws {
        let sim = try SimulatorProcess()
        let gw = try GatewayProcess(config: Self.config(simPort: sim.port))
        let notify = NotifySocket(directory: gw.directory)
        try gw.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        XCTAssertTrue(TestPaths.waitUntil(timeout: 15) { notify.count("READY=1") >= 1 }, "no READY=1: \(notify.messages) \(gw.log)")
        XCTAssertTrue(TestPaths.waitUntil(timeout: 10) { notify.count("WATCHDOG=1") >= 5 }, "no watchdog pings: \(notify.messages)")
        let ready = notify.messages.first { $0.contains("READY=1") } ?? ""
        XCTAssertTrue(ready.contains("STATUS=1 bus, 1 device"), ready)
        XCTAssertTrue(ready.contains("no uplink"), ready)
        XCTAssertTrue(ready.contains("backlog"), ready)
        XCTAssertEqual(gw.terminate(), 0)
        XCTAssertTrue(TestPaths.waitUntil(timeout: 2) { notify.count("STOPPING=1") == 1 }, "\(notify.messages)")
    }

    /// A store writer that cannot commit (another process holds the buffer's write
    /// lock) stops the pings and is named in the log; once the lock goes, pings resume.
    func testWatchdogStopsWhileTheStoreWriterIsWedged() throws {
        let sim = try SimulatorProcess()
        let gw = try GatewayProcess(config: Self.config(simPort: sim.port))
        let notify = NotifySocket(directory: gw.directory)
        try gw.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        XCTAssertTrue(TestPaths.waitUntil(timeout: 15) { notify.count("WATCHDOG=1") >= 3 }, "\(notify.messages) \(gw.log)")

        // A real lock: sqlite3 holds an exclusive write transaction on the live buffer.
        let locker = try ChildProcess(TestPaths.systemProgram("sqlite3"), [gw.bufferPath])
        locker.send("PRAGMA busy_timeout = 10000;")
        locker.send("BEGIN EXCLUSIVE;")
        locker.send("SELECT 'locked';")
        XCTAssertNotNil(locker.waitForLine(containing: "locked", timeout: 15), locker.allOutput)

        XCTAssertNotNil(gw.child!.waitForLine(containing: "watchdog: store writer made no progress", timeout: 30), gw.log)
        let pingsAtStall = notify.count("WATCHDOG=1")
        Thread.sleep(forTimeInterval: 1.5)  // several ping intervals (200 ms): none may come
        XCTAssertEqual(notify.count("WATCHDOG=1"), pingsAtStall, "pings went on while the writer was wedged")
        XCTAssertTrue(notify.lines.contains { $0.hasPrefix("STATUS=") && $0.contains("STALLED: store writer") }, "\(notify.lines)")

        locker.send("ROLLBACK;")
        locker.send(".quit")
        _ = locker.waitForExit(timeout: 10)
        XCTAssertNotNil(gw.child!.waitForLine(containing: "store writer is making progress again", timeout: 20), gw.log)
        XCTAssertTrue(TestPaths.waitUntil(timeout: 5) { notify.count("WATCHDOG=1") > pingsAtStall + 2 }, "pings did not resume")
        XCTAssertEqual(gw.terminate(), 0)
    }

    /// The shipped unit passes `systemd-analyze verify` (with ExecStart pointing
    /// at the built gatewayd, since /usr/bin/gatewayd exists only on a box).
    func testUnitFileVerifies() throws {
        let dir = TestPaths.temporaryDirectory("unit")
        let unit = try String(contentsOfFile: TestPaths.repositoryRoot + "/systemd/gatewayd.service", encoding: .utf8)
        XCTAssertTrue(unit.contains("ExecStart=/usr/bin/gatewayd "))
        for key in ["Type=notify", "WatchdogSec=", "Restart=on-failure", "StateDirectory=gatewayd", "ConfigurationDirectory=gatewayd",
                    "SupplementaryGroups=dialout", "LoadCredential=mqtt.password:", "ExecReload=/bin/kill -HUP $MAINPID",
                    "ProtectSystem=strict", "DevicePolicy=closed", "DeviceAllow=char-ttyUSB rw", "CapabilityBoundingSet=\n",
                    "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes"] {
            XCTAssertTrue(unit.contains(key), "unit lacks \(key)")
        }
        try unit.replacingOccurrences(of: "ExecStart=/usr/bin/gatewayd ", with: "ExecStart=\(TestPaths.executable("gatewayd")) ")
            .write(toFile: dir + "/gatewayd.service", atomically: true, encoding: .utf8)
        let analyze = TestPaths.systemProgram("systemd-analyze")
        let verify = try ChildProcess.run(analyze, ["verify", "--man=no", dir + "/gatewayd.service"])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertEqual(verify.stderr.trimmingCharacters(in: .whitespacesAndNewlines), "", "systemd-analyze verify complained")
        let security = try ChildProcess.run(analyze, ["security", "--offline=true", dir + "/gatewayd.service"])
        let exposure = security.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
        let score = exposure.split(separator: " ").compactMap { Double($0) }.first
        XCTAssertNotNil(score, security.stdout + security.stderr)
        XCTAssertLessThanOrEqual(score ?? 10, 2.0, "hardening regressed: \(exposure)")
    }
}
