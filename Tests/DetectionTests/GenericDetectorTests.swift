import Detection
import GatewayModel
import XCTest

final class GenericDetectorTests: XCTestCase {
    func testRangeRaisesOnceWhileHoveringAndClearsPastTheDeadband() {
        var run = SinglePointRun("range", ["max": .double(10), "deadband": .double(0.5)])
        // Hovering around the limit: 10.1, 9.9, 10.2, 9.8 ... must not make a storm.
        for i in 0..<20 { run.feed(jan1 + Int64(i) * minute, i % 2 == 0 ? 10.1 : 9.8) }
        XCTAssertEqual(run.raised.count, 1)
        XCTAssertEqual(run.raised.first?.timestampMilliseconds, jan1)
        XCTAssertTrue(run.cleared.isEmpty, "9.8 is inside the limit but not past the deadband")
        run.feed(jan1 + 30 * minute, 9.4)
        XCTAssertEqual(run.cleared.count, 1)
        XCTAssertEqual(run.cleared.first?.alarmID, run.raised.first?.alarmID)
        XCTAssertTrue(run.raised.first!.message.contains("above the upper limit 10"))
    }

    func testRangeCleanSeriesRaisesNothing() {
        var run = SinglePointRun("range", ["min": .integer(0), "max": .integer(10)])
        for i in 0..<100 { run.feed(jan1 + Int64(i) * minute, 5 + sin(Double(i))) }
        XCTAssertTrue(run.transitions.isEmpty)
    }

    func testRateOfChange() {
        var run = SinglePointRun("rate_of_change", ["max_rate": .double(1), "per": .string("1m"), "clear_after": .string("5m")])
        for i in 0..<10 { run.feed(jan1 + Int64(i) * minute, Double(i) * 0.5) }
        XCTAssertTrue(run.transitions.isEmpty)
        run.feed(jan1 + 10 * minute, 20)
        XCTAssertEqual(run.raised.count, 1)
        XCTAssertEqual(run.raised.first?.timestampMilliseconds, jan1 + 10 * minute)
        for i in 11..<20 { run.feed(jan1 + Int64(i) * minute, 20) }
        XCTAssertEqual(run.cleared.count, 1)
        XCTAssertEqual(run.cleared.first?.timestampMilliseconds, jan1 + 16 * minute)
    }

    func testSpikeIsFoundAndTheCleanTwinIsQuiet() {
        var noise = Noise(seed: 1)
        var clean = SinglePointRun("spike")
        var spiky = SinglePointRun("spike")
        for i in 0..<200 {
            let v = 50 + noise.next()
            clean.feed(jan1 + Int64(i) * minute, v)
            spiky.feed(jan1 + Int64(i) * minute, i == 120 ? v + 30 : v)
        }
        XCTAssertTrue(clean.transitions.isEmpty)
        XCTAssertEqual(spiky.raised.count, 1)
        XCTAssertEqual(spiky.raised.first?.timestampMilliseconds, jan1 + 120 * minute)
        XCTAssertEqual(spiky.cleared.first?.timestampMilliseconds, jan1 + 121 * minute)
    }

    func testFlatline() {
        var run = SinglePointRun("flatline", ["duration": .string("1h")])
        for i in 0..<30 { run.feed(jan1 + Int64(i) * 5 * minute, Double(i % 3)) }
        XCTAssertTrue(run.transitions.isEmpty)
        let stuckFrom = jan1 + 30 * 5 * minute
        for i in 0..<20 { run.feed(stuckFrom + Int64(i) * 5 * minute, 7) }
        XCTAssertEqual(run.raised.count, 1)
        XCTAssertEqual(run.raised.first?.timestampMilliseconds, stuckFrom + hour)
        run.feed(stuckFrom + 20 * 5 * minute, 8)
        XCTAssertEqual(run.cleared.count, 1)
    }

    func testMissingNoticesSilenceThroughOtherPointsAndBadQuality() throws {
        let catalog = PointCatalog([
            PointDescriptor(id: 0, device: "a", deviceKind: .generic, point: "v", unit: ""),
            PointDescriptor(id: 1, device: "b", deviceKind: .generic, point: "v", unit: ""),
        ])
        let engine = try DetectionEngine(detectors: [DetectorConfiguration(type: "missing", device: "a", point: "v", parameters: ["timeout": .string("15m")])], catalog: catalog)
        var out: [AlarmTransition] = []
        out += engine.observe(pointID: 0, timestampMilliseconds: jan1, value: 1, quality: .good)
        // Point a goes silent; b keeps reporting, which moves time on.
        for i in 1...20 { out += engine.observe(pointID: 1, timestampMilliseconds: jan1 + Int64(i) * minute, value: 1, quality: .good) }
        XCTAssertEqual(out.filter { $0.state == .raised }.count, 1)
        XCTAssertEqual(out.first?.timestampMilliseconds, jan1 + 16 * minute)
        // comm_error readings are not good readings.
        out += engine.observe(pointID: 0, timestampMilliseconds: jan1 + 21 * minute, value: nil, quality: .commError)
        XCTAssertEqual(out.filter { $0.state == .cleared }.count, 0)
        out += engine.observe(pointID: 0, timestampMilliseconds: jan1 + 22 * minute, value: 2, quality: .good)
        XCTAssertEqual(out.filter { $0.state == .cleared }.count, 1)
        // The daemon's tick also counts as time passing.
        XCTAssertEqual(engine.advance(toMilliseconds: jan1 + 40 * minute).count, 1)
    }
}
