import Foundation
import GatewayTestSupport
import XCTest

/// `systemctl reload` (SIGHUP): a valid new config is applied around the same
/// buffer; an invalid one is rejected with every problem logged, the old one runs on.
final class BoxReloadTests: XCTestCase {
    static let pressureDevice = """

    [[device]]
    id = "pressure"
    bus = "lan"
    unit_id = 3
    kind = "pressure_sensor"
    interval = "200ms"
      [[device.point]]
      name = "pressure_bar"
      table = "input"
      address = 0
      type = "int16"
      scale = 0.01
      unit = "bar"
    """

    static func config(simPort: Int, brokerPort: Int, extra: String = "") -> String {
        BoxSystemdTests.config(simPort: simPort) + """

        [uplink]
        url = "mqtt://127.0.0.1:\(brokerPort)"
        topic_prefix = "t"
        batch_max_delay = "200ms"
        reconnect_min_delay = "1s"
        reconnect_max_delay = "2s"
        \(extra)
        """
    }

    func testReloadAddsADeviceAndRejectsABrokenConfig() throws {
        let broker = try MosquittoBroker()
        let sim = try SimulatorProcess()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-box/#")
        let gw = try GatewayProcess(config: Self.config(simPort: sim.port, brokerPort: broker.port))
        let notify = NotifySocket(directory: gw.directory)
        try gw.start(environment: ["NOTIFY_SOCKET": notify.path])
        XCTAssertTrue(sub.waitUntil(timeout: 20) { $0.readings.filter { $0.device == "flow" }.count >= 5 }, gw.log)
        let store = sub.readings.first!.store

        // A device added: its readings appear, in the same store, seq carrying on.
        let data = gw.dataDirectory
        let added = Self.config(simPort: sim.port, brokerPort: broker.port).replacingOccurrences(of: "@DATA_DIR@", with: data)
            + Self.pressureDevice
        try added.write(toFile: gw.configPath, atomically: true, encoding: .utf8)
        let seqBefore = sub.readings.map(\.seq).max()!
        gw.child!.signal(SIGHUP)
        XCTAssertNotNil(gw.child!.waitForLine(containing: "reload applied", timeout: 20), gw.log)
        XCTAssertTrue(sub.waitUntil(timeout: 20) { $0.readings.filter { $0.device == "pressure" }.count >= 3 }, gw.log)
        let pressure = sub.readings.filter { $0.device == "pressure" }
        XCTAssertTrue(pressure.allSatisfy { $0.store == store && $0.seq > seqBefore }, "\(pressure)")
        XCTAssertEqual(pressure.last!.value!, 3.5, accuracy: 2.5, "pressure in bar from the simulator")
        XCTAssertTrue(sub.waitUntil(timeout: 10) { $0.readings.filter { $0.device == "flow" && $0.seq > seqBefore }.count >= 3 })
        XCTAssertEqual(Set(sub.readings.map(\.store)), [store], "a reload must not start a new store")
        XCTAssertTrue(notify.count("RELOADING=1") >= 1 && notify.count("READY=1") >= 2, "\(notify.lines)")

        // A broken config: every problem logged as FILE:LINE: key: message; the running one stays.
        let broken = added.replacingOccurrences(of: "interval = \"200ms\"", with: "intervall = \"200ms\"")
        try broken.write(toFile: gw.configPath, atomically: true, encoding: .utf8)
        let seqAtBreak = sub.readings.map(\.seq).max()!
        gw.child!.signal(SIGHUP)
        XCTAssertNotNil(gw.child!.waitForLine(containing: "reload rejected", timeout: 20), gw.log)
        XCTAssertTrue(gw.log.contains("\(gw.configPath):"), gw.log)
        XCTAssertTrue(gw.log.contains("intervall"), gw.log)
        XCTAssertTrue(sub.waitUntil(timeout: 10) {
            $0.readings.filter { $0.device == "pressure" && $0.seq > seqAtBreak }.count >= 2
                && $0.readings.filter { $0.device == "flow" && $0.seq > seqAtBreak }.count >= 2
        }, "the old configuration stopped running: \(gw.log)")
        XCTAssertEqual(gw.terminate(), 0)

        // Both reloads are in the audit log.
        let audit = try ChildProcess.run(TestPaths.systemProgram("sqlite3"), [gw.bufferPath, "SELECT action FROM audit ORDER BY rowid"])
        XCTAssertEqual(audit.stdout.split(separator: "\n").map(String.init), ["reload", "reload-rejected"], audit.stderr)
        // Every committed seq is unique and the store numbered them without holes across both reloads.
        let all = try ChildProcess.run(TestPaths.systemProgram("sqlite3"), [gw.bufferPath, "SELECT count(*), min(seq), max(seq) FROM records"])
        let parts = all.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").compactMap { Int($0) }
        XCTAssertEqual(parts.count, 3)
        if parts.count == 3 { XCTAssertEqual(parts[0], parts[2] - parts[1] + 1, "seq has holes: \(all.stdout)") }
    }
}
