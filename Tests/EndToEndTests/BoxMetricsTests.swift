import Foundation
import GatewayTestSupport
import XCTest

/// The node_exporter textfile: written atomically, and saying what happened.
/// Also the journald promise for a dead device: one line on failure, one on recovery.
final class BoxMetricsTests: XCTestCase {
    /// Parses `name{labels} value` lines into [line-without-value: value].
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = v
        }
        return out
    }

    func testMetricsCountFailedPollsOfAMutedDeviceAndLogsOnlyTransitions() throws {
        let sim = try SimulatorProcess()
        let gw = try GatewayProcess(config: BoxSystemdTests.config(simPort: sim.port))
        let metrics = gw.directory + "/metrics"
        try FileManager.default.createDirectory(atPath: metrics, withIntermediateDirectories: true)
        let child = try ChildProcess(TestPaths.executable("gatewayd"),
                                     ["--config", gw.configPath, "--metrics-textfile", metrics, "--metrics-interval", "300ms"],
                                     environment: ["JOURNAL_STREAM": "8:1234"])
        XCTAssertNotNil(child.waitForLine(containing: "gatewayd started", timeout: 20), child.allOutput)
        let file = metrics + "/gatewayd.prom"
        func current() -> [String: Double] { Self.samples((try? String(contentsOfFile: file, encoding: .utf8)) ?? "") }
        let okKey = "gatewayd_device_polls_total{bus=\"lan\",device=\"flow\",result=\"ok\"}"
        let failedKey = "gatewayd_device_polls_total{bus=\"lan\",device=\"flow\",result=\"failed\"}"
        XCTAssertTrue(TestPaths.waitUntil(timeout: 15) { (current()[okKey] ?? 0) >= 3 }, "\(current())")
        XCTAssertEqual(current()["gatewayd_device_up{bus=\"lan\",device=\"flow\"}"], 1)
        XCTAssertTrue(TestPaths.waitUntil(timeout: 5) { (current()["gatewayd_records_stored_total"] ?? 0) >= 3 })
        XCTAssertEqual(current()["gatewayd_watchdog_healthy"], 1)
        XCTAssertNotNil(current()["gatewayd_backlog_records"])
        XCTAssertNotNil(current()["gatewayd_bus_utilisation_ratio{bus=\"lan\"}"])
        XCTAssertNotNil(current()["gatewayd_alarms_active"])

        XCTAssertEqual(sim.command("mute 2"), "ok mute 2")
        XCTAssertTrue(TestPaths.waitUntil(timeout: 30) { (current()[failedKey] ?? 0) >= 4 }, "\(current())")
        XCTAssertEqual(current()["gatewayd_device_up{bus=\"lan\",device=\"flow\"}"], 0)
        XCTAssertEqual(sim.command("unmute 2"), "ok unmute 2")
        XCTAssertNotNil(child.waitForLine(containing: "flow answers again", timeout: 60), child.allOutput)
        XCTAssertTrue(TestPaths.waitUntil(timeout: 10) { current()["gatewayd_device_up{bus=\"lan\",device=\"flow\"}"] == 1 })

        // Under journald: a priority prefix, no timestamp; one line for the failure however many polls failed.
        let flowLines = child.stderrLines.filter { $0.contains("flow") && !$0.contains("debug") }
        let failures = flowLines.filter { $0.hasPrefix("<4>") && $0.contains("bus.lan: flow:") }
        XCTAssertEqual(failures.count, 1, "\(flowLines)")
        XCTAssertEqual(flowLines.filter { $0.contains("answers again") }.count, 1, "\(flowLines)")
        XCTAssertTrue(child.stderrLines.allSatisfy { $0.hasPrefix("<") }, "journald lines carry a priority")
        child.signal(SIGTERM)
        XCTAssertEqual(child.waitForExit(timeout: 20), 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: metrics)
        XCTAssertEqual(leftovers, ["gatewayd.prom"], "no temporary files left beside the metrics")
    }
}
