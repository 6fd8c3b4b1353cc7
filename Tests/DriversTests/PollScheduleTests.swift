@testable import Drivers
import XCTest

final class PollScheduleTests: XCTestCase {
    func testEarliestDeadlineFirst() {
        var s = PollSchedule()
        s.schedule(device: 0, atNanoseconds: 300)
        s.schedule(device: 1, atNanoseconds: 100)
        s.schedule(device: 2, atNanoseconds: 200)
        XCTAssertNil(s.popDue(nowNanoseconds: 50))
        XCTAssertEqual(s.popDue(nowNanoseconds: 1000)?.device, 1)
        XCTAssertEqual(s.popDue(nowNanoseconds: 1000)?.device, 2)
        XCTAssertEqual(s.popDue(nowNanoseconds: 1000)?.device, 0)
        XCTAssertTrue(s.isEmpty)
    }

    func testTiesTakeTurns() {
        var s = PollSchedule()
        for d in 0..<3 { s.schedule(device: d, atNanoseconds: 100) }
        var order: [Int] = []
        for _ in 0..<9 {
            let e = s.popDue(nowNanoseconds: 100)!
            order.append(e.device)
            s.schedule(device: e.device, atNanoseconds: 100)  // an overdue bus: every device due again at once
        }
        XCTAssertEqual(order, [0, 1, 2, 0, 1, 2, 0, 1, 2])
    }

    func testNextDeadlineStaysOnGridAndSkipsMissedSlots() {
        XCTAssertEqual(PollSchedule.nextDeadline(after: 1000, intervalNanoseconds: 100, nowNanoseconds: 1010), 1100)
        // Late by 3.5 intervals: the missed slots are skipped, the grid kept.
        XCTAssertEqual(PollSchedule.nextDeadline(after: 1000, intervalNanoseconds: 100, nowNanoseconds: 1350), 1400)
        XCTAssertEqual(PollSchedule.nextDeadline(after: 1000, intervalNanoseconds: 100, nowNanoseconds: 1400), 1500)
    }

    func testManyEntriesComeOutSorted() {
        var s = PollSchedule()
        var g = ModbusFuzzGenerator(seed: 7)
        for d in 0..<500 { s.schedule(device: d, atNanoseconds: UInt64.random(in: 0...10_000, using: &g)) }
        var last: UInt64 = 0
        while let e = s.popDue(nowNanoseconds: .max) {
            XCTAssertGreaterThanOrEqual(e.deadlineNanoseconds, last)
            last = e.deadlineNanoseconds
        }
    }
}
