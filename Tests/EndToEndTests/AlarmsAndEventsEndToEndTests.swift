import Foundation
import GatewayTestSupport
import XCTest

/// Alarms and events travel the same store-and-forward path as readings:
/// same seq space, sent at once, buffered while the broker is down.
final class AlarmsAndEventsEndToEndTests: XCTestCase {
    /// A range alarm on the simulator's pressure sensor (≈3–4.2 bar normally).
    static let pressureAlarm = """

    [[detector]]
    type = "range"
    device = "pressure"
    point = "pressure_bar"
    min = 2.0
    deadband = 0.2
    """

    func testAlarmIsRaisedAndClearedAndReachesTheSubscriber() throws {
        let broker = try MosquittoBroker()
        let sim = try SimulatorProcess()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        let gw = try GatewayProcess(config: PipelineEndToEndTests.config(simPort: sim.port, brokerPort: broker.port) + Self.pressureAlarm)
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.readings.contains { $0.device == "pressure" } })
        XCTAssertTrue(sub.messages(topicSuffix: "/alarms/pressure").isEmpty, "an alarm before anything happened")

        XCTAssertEqual(sim.command("set 3 input 0 120")?.hasPrefix("ok"), true)  // 1.20 bar
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.json(topicContaining: "/alarms/pressure").contains { $0["state"] as? String == "raised" } },
                      "no alarm raised: \(gw.log)")
        let raised = try XCTUnwrap(sub.json(topicContaining: "/alarms/pressure").first)
        XCTAssertEqual(raised["type"] as? String, "range")
        XCTAssertEqual(raised["point"] as? String, "pressure_bar")
        XCTAssertEqual(raised["device"] as? String, "pressure")
        XCTAssertEqual((raised["value"] as? NSNumber)?.doubleValue ?? 0, 1.2, accuracy: 1e-9)
        XCTAssertNotNil(raised["id"] as? String)
        XCTAssertNotNil(raised["severity"] as? String)
        XCTAssertFalse((raised["message"] as? String ?? "").isEmpty)

        // Hovering below the limit for a while raises nothing more.
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(sub.json(topicContaining: "/alarms/pressure").count, 1, "an alarm storm")

        sim.command("clear 3")
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.json(topicContaining: "/alarms/pressure").contains { $0["state"] as? String == "cleared" } },
                      "the alarm did not clear")
        let cleared = sub.json(topicContaining: "/alarms/pressure").last!
        XCTAssertEqual(cleared["id"] as? String, raised["id"] as? String, "raise and clear share one alarm id")
        XCTAssertEqual(gw.terminate(), 0)
        // Detector state is kept in the buffer at shutdown, so learning survives a restart.
        let saved = try ChildProcess.run(TestPaths.systemProgram("sqlite3"), [gw.bufferPath, "SELECT key FROM detector_state"])
        XCTAssertTrue(saved.stdout.contains("range:pressure:pressure_bar"), "no detector state saved: \(saved.stdout) \(saved.stderr)")

        // Alarms share the readings' seq space: no holes across both.
        let seqs = sub.allSeqs
        let alarmSeqs = Set(sub.json(topicContaining: "/alarms/").compactMap { ($0["seq"] as? NSNumber)?.uint64Value })
        XCTAssertEqual(alarmSeqs.count, 2)
        XCTAssertTrue(alarmSeqs.isSubset(of: seqs))
    }

    func testAlarmRaisedWhileBrokerIsDownArrivesAfterItReturns() throws {
        let sim = try SimulatorProcess()
        let port = TestPaths.freePort()
        let gw = try GatewayProcess(config: PipelineEndToEndTests.config(simPort: sim.port, brokerPort: port) + Self.pressureAlarm)
        try gw.start()
        Thread.sleep(forTimeInterval: 1)
        sim.command("set 3 input 0 120")
        XCTAssertNotNil(gw.child?.waitForLine(containing: "uplink", timeout: 5))
        Thread.sleep(forTimeInterval: 2)
        gw.child!.signal(SIGSTOP)
        let broker = try MosquittoBroker(port: port)
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        gw.child!.signal(SIGCONT)
        XCTAssertTrue(sub.waitUntil(timeout: 30) { $0.json(topicContaining: "/alarms/pressure").contains { $0["state"] as? String == "raised" } },
                      "the alarm raised during the outage never arrived: \(gw.log)")
        let alarm = sub.json(topicContaining: "/alarms/pressure").first!
        XCTAssertEqual(alarm["historical"] as? Bool, true)
        XCTAssertEqual(gw.terminate(), 0)
    }

    /// A parking bay changing state reaches a real subscriber as an event, at once; heartbeats become readings.
    func testParkingStateChangeArrivesAsAnEvent() throws {
        let dir = TestPaths.temporaryDirectory("parking")
        let link = dir + "/ttyPARK"
        let parking = try ChildProcess(TestPaths.executable("gateway-sim"),
                                       ["parking", "--pty", link, "--bays", "A-001,A-002", "--heartbeat", "1s", "--change-rate", "0"])
        XCTAssertNotNil(parking.waitForLine(containing: "ready", timeout: 10), parking.allOutput)
        defer { parking.kill9() }
        let broker = try MosquittoBroker()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-park/#")
        let gw = try GatewayProcess(config: """
        [gateway]
        id = "gw-park"
        data_dir = "@DATA_DIR@"

        [uplink]
        url = "\(broker.url)"
        topic_prefix = "t"
        batch_max_delay = "200ms"

        [[bus]]
        name = "row-a"
        type = "serial-line"
        protocol = "parking"
        device = "\(link)"
        debounce = "300ms"
        heartbeat_timeout = "30s"

        [[device]]
        id = "bay-a-001"
        bus = "row-a"
        bay = "A-001"

        [[device]]
        id = "bay-a-002"
        bus = "row-a"
        bay = "A-002"
        """, directory: dir)
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.readings.contains { $0.device == "bay-a-001" && $0.point == "battery_mv" } },
                      "no heartbeat readings: \(gw.log)")
        parking.send("set A-001 1")
        XCTAssertTrue(sub.waitUntil(timeout: 10) {
            $0.json(topicContaining: "/events/bay-a-001").contains { $0["state"] as? String == "occupied" }
        }, "no occupied event: \(gw.log)")
        let event = sub.json(topicContaining: "/events/bay-a-001").last { $0["state"] as? String == "occupied" }!
        XCTAssertEqual(event["point"] as? String, "occupancy")
        XCTAssertEqual((event["value"] as? NSNumber)?.intValue, 1)
        XCTAssertEqual(event["historical"] as? Bool, false)
        XCTAssertEqual(gw.terminate(), 0)
    }
}
