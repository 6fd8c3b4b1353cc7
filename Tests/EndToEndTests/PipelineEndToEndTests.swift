import Foundation
import GatewayTestSupport
import XCTest

/// The core promise, end to end with real parts: gateway-sim (libmodbus
/// server) → gatewayd → a real mosquitto → a real subscriber.
final class PipelineEndToEndTests: XCTestCase {
    static func config(simPort: Int, brokerPort: Int?, batchMax: Int = 500, interval: String = "300ms",
                       extraUplink: String = "", extraDevices: String = "") -> String {
        let uplink = brokerPort.map {
            """
            [uplink]
            url = "mqtt://127.0.0.1:\($0)"
            topic_prefix = "t"
            batch_max_readings = \(batchMax)
            batch_max_delay = "300ms"
            reconnect_min_delay = "1s"
            reconnect_max_delay = "2s"
            \(extraUplink)
            """
        } ?? ""
        return """
        [gateway]
        id = "gw-test"
        data_dir = "@DATA_DIR@"

        \(uplink)

        [[bus]]
        name = "lan"
        type = "modbus-tcp"
        host = "127.0.0.1"
        port = \(simPort)
        timeout = "300ms"

        [[device]]
        id = "pattern"
        bus = "lan"
        unit_id = 9
        interval = "\(interval)"
          [[device.point]]
          name = "i32_abcd"
          address = 0
          type = "int32"
          [[device.point]]
          name = "f32"
          address = 2
          type = "float32"
          [[device.point]]
          name = "i32_neg"
          address = 4
          type = "int32"
          [[device.point]]
          name = "f64"
          address = 10
          type = "float64"
          [[device.point]]
          name = "i16_scaled"
          address = 14
          type = "int16"
          scale = 0.5
          offset = 10
          [[device.point]]
          name = "f32_cdab"
          address = 16
          type = "float32"
          word_order = "little"
          [[device.point]]
          name = "coil0"
          table = "coil"
          address = 0
          type = "bool"

        [[device]]
        id = "flow"
        bus = "lan"
        unit_id = 2
        kind = "water_meter"
        interval = "\(interval)"
          [[device.point]]
          name = "flow_m3h"
          address = 0
          type = "float32"
          unit = "m3/h"

        [[device]]
        id = "pressure"
        bus = "lan"
        unit_id = 3
        kind = "pressure_sensor"
        interval = "\(interval)"
          [[device.point]]
          name = "pressure_bar"
          table = "input"
          address = 0
          type = "int16"
          scale = 0.01
          unit = "bar"
        \(extraDevices)
        """
    }

    /// Subscriber sees the right value per point, seq contiguous from 1, batches within bounds,
    /// status retained online, and offline after the daemon is killed (the last will).
    func testReadingsArriveDecodedAndNumberedWithoutGaps() throws {
        let broker = try MosquittoBroker()
        let sim = try SimulatorProcess()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        let gw = try GatewayProcess(config: Self.config(simPort: sim.port, brokerPort: broker.port, batchMax: 5))
        try gw.start()

        XCTAssertTrue(sub.waitUntil(timeout: 20) { $0.readings.count >= 60 }, "readings did not arrive: \(gw.log)")
        let readings = sub.readings
        func last(_ point: String) -> Double? { readings.last { $0.point == point }?.value }
        XCTAssertEqual(last("i32_abcd"), Double(0x1234_5678))
        XCTAssertEqual(last("f32")!, 123.456, accuracy: 0.0001)
        XCTAssertEqual(last("i32_neg"), -2)
        XCTAssertEqual(last("f64")!, -1234.5678, accuracy: 1e-9)
        XCTAssertEqual(last("i16_scaled"), -2 * 0.5 + 10)
        XCTAssertEqual(last("f32_cdab")!, 123.456, accuracy: 0.0001)
        XCTAssertEqual(last("coil0"), 1)
        XCTAssertNotNil(last("flow_m3h"))
        XCTAssertGreaterThan(last("pressure_bar") ?? 0, 1)
        XCTAssertTrue(readings.allSatisfy { $0.quality == "good" && !$0.historical })

        // Batches within bounds, one device each.
        for batch in sub.json(topicContaining: "/data/") {
            let n = (batch["readings"] as? [Any])?.count ?? 0
            XCTAssertTrue((1...5).contains(n), "batch of \(n) readings exceeds batch_max_readings")
        }

        // Retained online status for a late subscriber.
        let late = try TopicRecorder(port: broker.port, filter: "t/gw-test/status")
        XCTAssertTrue(late.waitUntil(timeout: 5) { $0.messages.contains { $0.retained && $0.payload.contains("\"online\"") } })

        gw.kill9()
        XCTAssertTrue(sub.waitUntil(timeout: 10) { $0.messages(topicSuffix: "/status").last?.payload.contains("\"offline\"") == true },
                      "no offline last will after kill -9")

        // seq contiguous from 1: after a restart drains what was pending at the kill, every
        // seq the store numbered has arrived (batches of other devices may have been open at the kill).
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 20) { $0.readings.count > readings.count })
        XCTAssertEqual(gw.terminate(), 0)
        let lastSeq = try bufferCounts(gw.bufferPath).lastSeq
        XCTAssertTrue(sub.waitUntil(timeout: 10) { Set(1...lastSeq).isSubset(of: $0.allSeqs) },
                      "seq has holes: \(Set(1...lastSeq).subtracting(sub.allSeqs).sorted().prefix(20))")
        XCTAssertEqual(sub.allSeqs.max(), lastSeq, "a seq arrived that the store never numbered")
    }

    /// The broker is down when gatewayd starts and comes up later: every reading polled meanwhile arrives.
    func testReadingsPolledWhileBrokerWasDownArriveAfterItStarts() throws {
        let sim = try SimulatorProcess()
        let brokerPort = TestPaths.freePort()
        let gw = try GatewayProcess(config: Self.config(simPort: sim.port, brokerPort: brokerPort))
        try gw.start()
        Thread.sleep(forTimeInterval: 4)

        // Freeze gatewayd so the subscriber is in place before the first reconnect can publish.
        gw.child!.signal(SIGSTOP)
        let broker = try MosquittoBroker(port: brokerPort)
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        gw.child!.signal(SIGCONT)

        XCTAssertTrue(sub.waitUntil(timeout: 30) { $0.readings.contains { !$0.historical } }, "no live data after reconnect: \(gw.log)")
        XCTAssertEqual(gw.terminate(), 0)
        // After a clean stop, everything polled was acknowledged or is still pending; restart to drain the rest.
        try gw.start()
        let stats = try bufferCounts(gw.bufferPath)
        XCTAssertTrue(sub.waitUntil(timeout: 30) { Set(1...stats.lastSeq).isSubset(of: $0.allSeqs) },
                      "missing seqs: \(Set(1...stats.lastSeq).subtracting(sub.allSeqs).sorted().prefix(20))")
        XCTAssertTrue(sub.readings.contains { $0.historical }, "backlog was not marked historical")
        XCTAssertEqual(gw.terminate(), 0)
    }

    /// A device that stops answering gives comm_error readings; the others are unaffected.
    func testDeadDeviceGivesCommErrorAndOthersContinue() throws {
        let broker = try MosquittoBroker()
        let sim = try SimulatorProcess()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        let gw = try GatewayProcess(config: Self.config(simPort: sim.port, brokerPort: broker.port))
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.readings.contains { $0.device == "pressure" } })
        XCTAssertEqual(sim.command("mute 3")?.hasPrefix("ok"), true)
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.readings.contains { $0.device == "pressure" && $0.quality == "comm_error" } },
                      "no comm_error for the muted device: \(gw.log)")
        let errorReading = sub.readings.first { $0.device == "pressure" && $0.quality == "comm_error" }
        XCTAssertNil(errorReading?.value, "comm_error readings carry no value")
        let flowBefore = sub.readings.filter { $0.device == "flow" }.count
        XCTAssertTrue(sub.waitUntil(timeout: 10) { $0.readings.filter { $0.device == "flow" }.count >= flowBefore + 5 },
                      "the healthy device stopped while another was dead")
        XCTAssertTrue(sub.readings.filter { $0.device == "flow" }.allSatisfy { $0.quality == "good" })
        // Recovery.
        sim.command("unmute 3")
        let goodBefore = sub.readings.filter { $0.device == "pressure" && $0.quality == "good" }.count
        XCTAssertTrue(sub.waitUntil(timeout: 30) { $0.readings.filter { $0.device == "pressure" && $0.quality == "good" }.count > goodBefore },
                      "the device did not recover")
        XCTAssertEqual(gw.terminate(), 0)
    }

    /// SIGTERM: exit 0 and nothing pending lost; buffer-only until a broker is there.
    func testSIGTERMExitsZeroAndPendingReadingsArriveAfterRestart() throws {
        let sim = try SimulatorProcess()
        let brokerPort = TestPaths.freePort()
        let gw = try GatewayProcess(config: Self.config(simPort: sim.port, brokerPort: brokerPort))
        try gw.start()
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(gw.terminate(), 0, gw.log)
        XCTAssertTrue(gw.log.contains("gatewayd stopped"))
        let before = try bufferCounts(gw.bufferPath)
        XCTAssertGreaterThan(before.pending, 0)
        XCTAssertEqual(before.sent, 0)

        let broker = try MosquittoBroker(port: brokerPort)
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 30) { Set(1...before.lastSeq).isSubset(of: $0.allSeqs) },
                      "readings buffered before SIGTERM did not all arrive")
        XCTAssertEqual(gw.terminate(), 0)
    }

    /// A buffer with no uplink configured: the embedded default, collecting offline.
    func testBufferOnlyWithoutUplink() throws {
        let sim = try SimulatorProcess()
        let gw = try GatewayProcess(config: Self.config(simPort: sim.port, brokerPort: nil))
        try gw.start()
        XCTAssertNotNil(gw.child?.waitForLine(containing: "buffer-only", timeout: 5))
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(gw.terminate(), 0)
        XCTAssertGreaterThan(try bufferCounts(gw.bufferPath).pending, 0)
    }

    func bufferCounts(_ path: String) throws -> (pending: Int, sent: Int, lastSeq: UInt64) {
        let out = try ChildProcess.run(TestPaths.systemProgram("sqlite3"),
                                       [path, "SELECT (SELECT count(*) FROM records WHERE sent=0), (SELECT count(*) FROM records WHERE sent=1), (SELECT value FROM meta WHERE key='last_seq')"])
        let parts = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|")
        XCTAssertEqual(parts.count, 3, "sqlite3 said: \(out.stdout) \(out.stderr)")
        return (Int(parts[0]) ?? -1, Int(parts[1]) ?? -1, UInt64(parts[2]) ?? 0)
    }
}
