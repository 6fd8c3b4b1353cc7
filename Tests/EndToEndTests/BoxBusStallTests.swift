import Foundation
import GatewayTestSupport
import XCTest

/// The watchdog pings stop when a bus thread stops making progress (issue 7): a
/// test seam blocks the bus thread for real, the daemon's own progress check sees it.
final class BoxBusStallTests: XCTestCase {
    func testWatchdogStopsWhenABusThreadStalls() throws {
        let sim = try SimulatorProcess()
        let gw = try GatewayProcess(config: BoxSystemdTests.config(simPort: sim.port))
        let notify = NotifySocket(directory: gw.directory)
        try gw.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000", "GATEWAYD_TEST_STALL_BUS": "lan@2"])
        XCTAssertTrue(TestPaths.waitUntil(timeout: 15) { notify.count("WATCHDOG=1") >= 3 }, "\(notify.messages) \(gw.log)")

        XCTAssertNotNil(gw.child!.waitForLine(containing: "watchdog: bus lan made no progress", timeout: 30), gw.log)
        let pingsAtStall = notify.count("WATCHDOG=1")
        Thread.sleep(forTimeInterval: 1.5)  // several ping intervals (200 ms): none may come
        XCTAssertEqual(notify.count("WATCHDOG=1"), pingsAtStall, "pings went on while a bus thread was stalled")
        XCTAssertTrue(notify.lines.contains { $0.hasPrefix("STATUS=") && $0.contains("STALLED") && $0.contains("lan") }, "\(notify.lines)")
        // A clean stop still works: the stalled thread is released and joined.
        XCTAssertEqual(gw.terminate(), 0, gw.log)
    }
}
