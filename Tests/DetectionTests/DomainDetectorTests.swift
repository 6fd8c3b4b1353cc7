import Detection
import GatewayModel
import XCTest

final class DomainDetectorTests: XCTestCase {
    func testContinuousFlow() {
        var run = SinglePointRun("continuous_flow", ["zero_flow": .double(0.01)])
        // A household: flow stops every night.
        for i in 0..<(3 * 24) { run.feed(jan1 + Int64(i) * hour, i % 24 < 5 ? 0 : 0.3) }
        XCTAssertTrue(run.transitions.isEmpty)
        // A leak: it never stops any more.
        let leakFrom = jan1 + 3 * day
        for i in 0..<30 { run.feed(leakFrom + Int64(i) * hour, 0.05) }
        XCTAssertEqual(run.raised.count, 1)
        // Flowing without a stop since the first non-zero reading after the last night (day 2, 05:00).
        XCTAssertEqual(run.raised.first?.timestampMilliseconds, jan1 + 2 * day + 5 * hour + 24 * hour)
        run.feed(leakFrom + 30 * hour, 0)
        XCTAssertEqual(run.cleared.count, 1)
    }

    func testReverseFlow() {
        var run = SinglePointRun("reverse_flow", ["delay": .string("5m")])
        for i in 0..<10 { run.feed(jan1 + Int64(i) * minute, 1) }
        run.feed(jan1 + 10 * minute, -0.5)  // one glitch is not backflow
        run.feed(jan1 + 11 * minute, 1)
        XCTAssertTrue(run.transitions.isEmpty)
        for i in 12..<20 { run.feed(jan1 + Int64(i) * minute, -0.5) }
        XCTAssertEqual(run.raised.first?.timestampMilliseconds, jan1 + 17 * minute)
        run.feed(jan1 + 20 * minute, 0.2)
        XCTAssertEqual(run.cleared.count, 1)
    }

    func testCounterBackwardsAndJump() {
        var run = SinglePointRun("counter", ["max_increase_per_hour": .double(100)])
        var v = 1000.0
        for i in 0..<10 { v += 10; run.feed(jan1 + Int64(i) * hour, v) }
        XCTAssertTrue(run.transitions.isEmpty)
        run.feed(jan1 + 10 * hour, 500)
        XCTAssertEqual(run.raised.count, 1)
        XCTAssertTrue(run.raised[0].message.contains("backwards"))
        run.feed(jan1 + 11 * hour, 510)
        XCTAssertEqual(run.cleared.count, 1)
        run.feed(jan1 + 12 * hour, 5000)
        XCTAssertEqual(run.raised.count, 2)
        XCTAssertTrue(run.raised[1].message.contains("jumped"))
    }

    func testVoltageBandWithHysteresis() {
        var run = SinglePointRun("voltage", ["delay": .string("0s")])
        for i in 0..<10 { run.feed(jan1 + Int64(i) * minute, 230 + Double(i % 3)) }
        XCTAssertTrue(run.transitions.isEmpty)
        // Hovering at the lower limit (207 V): one alarm.
        for i in 10..<30 { run.feed(jan1 + Int64(i) * minute, i % 2 == 0 ? 206.5 : 207.5) }
        XCTAssertEqual(run.raised.count, 1)
        XCTAssertEqual(run.cleared.count, 0)
        run.feed(jan1 + 31 * minute, 229)
        XCTAssertEqual(run.cleared.count, 1)
    }

    func testParkingBayDetectors() {
        var long = SinglePointRun("bay_occupied_too_long", point: "occupancy", ["max_duration": .string("2h")])
        long.feed(jan1, 1)
        long.feed(jan1 + hour, 1)
        XCTAssertTrue(long.transitions.isEmpty)
        long.feed(jan1 + 3 * hour, 1)
        XCTAssertEqual(long.raised.count, 1)
        long.feed(jan1 + 4 * hour, 0)
        XCTAssertEqual(long.cleared.count, 1)

        var flapping = SinglePointRun("bay_flapping", point: "occupancy", ["max_changes": .integer(4), "window": .string("10m")])
        for i in 0..<4 { flapping.feed(jan1 + Int64(i) * 10 * minute, Double(i % 2)) }  // normal traffic
        XCTAssertTrue(flapping.transitions.isEmpty)
        let burst = jan1 + hour
        for i in 0..<8 { flapping.feed(burst + Int64(i) * 30_000, Double(i % 2)) }
        XCTAssertEqual(flapping.raised.count, 1)
        flapping.feed(burst + hour, 1)
        XCTAssertEqual(flapping.cleared.count, 1)

        var fault = SinglePointRun("detector_fault", point: "occupancy")
        fault.feed(jan1, 0)
        fault.feed(jan1 + minute, 2)
        fault.feed(jan1 + 2 * minute, 2)
        XCTAssertEqual(fault.raised.count, 1)
        fault.feed(jan1 + 3 * minute, 1)
        XCTAssertEqual(fault.cleared.count, 1)
    }

    /// Night flow of a district: weekday pattern (Friday and Saturday nights higher),
    /// slow seasonal rise, noise; the leak twin adds 12 % from day 40.
    func nightFlowSeries(leakFromDay: Int?) -> [(Int64, Double)] {
        var noise = Noise(seed: 7)
        var out: [(Int64, Double)] = []
        for d in 0..<70 {
            let weekday = d % 7  // jan1 is a Monday
            let factor = weekday == 4 ? 1.2 : (weekday == 5 ? 1.3 : (weekday == 6 ? 1.07 : 1.0))
            let level = 100 + Double(d) * 0.1
            for i in 0..<(24 * 12) {
                let ts = jan1 + Int64(d) * day + Int64(i) * 5 * minute
                let hourOfDay = Double(i) / 12
                let daily = hourOfDay < 5 ? 0 : 60 * sin(Double.pi * (hourOfDay - 5) / 19)
                var v = level * factor + daily + noise.next()
                if let leakFromDay, d >= leakFromDay { v += 12 }
                out.append((ts, v))
            }
        }
        return out
    }

    func testNightFlowFindsALeakAndIgnoresWeekends() {
        var clean = SinglePointRun("night_flow")
        var leaky = SinglePointRun("night_flow")
        for (ts, v) in nightFlowSeries(leakFromDay: nil) { clean.feed(ts, v) }
        for (ts, v) in nightFlowSeries(leakFromDay: 40) { leaky.feed(ts, v) }
        XCTAssertTrue(clean.transitions.isEmpty, "weekend nights are not leaks: \(clean.transitions.map(\.message))")
        XCTAssertEqual(leaky.raised.count, 1)
        // Raised at the end of the first leaking night window (04:00 of day 40).
        XCTAssertEqual(leaky.raised.first?.timestampMilliseconds, jan1 + 40 * day + 4 * hour)
        // A leak left alone is accepted as the new baseline after relearn_nights (7), and says so.
        XCTAssertEqual(leaky.cleared.count, 1)
        XCTAssertTrue(leaky.cleared[0].message.contains("accepted as the new baseline"))
    }

    func testPressureDropFindsABurstWithinTheHour() {
        func series(burstAt: Int64?) -> SinglePointRun {
            var run = SinglePointRun("pressure_drop", point: "pressure_m")
            var noise = Noise(seed: 3)
            for i in 0..<(35 * 24 * 12) {
                let ts = jan1 + Int64(i) * 5 * minute
                let hourOfDay = Double(i % 288) / 12
                var v = 50 - 3 * sin(Double.pi * max(0, hourOfDay - 5) / 19) + 0.05 * noise.next()
                if let burstAt, ts >= burstAt { v -= 1.5 }
                run.feed(ts, v)
            }
            return run
        }
        let burst = jan1 + 30 * day + 14 * hour + 7 * minute
        let clean = series(burstAt: nil)
        let burstRun = series(burstAt: burst)
        XCTAssertTrue(clean.transitions.isEmpty, "\(clean.transitions.map(\.message))")
        XCTAssertEqual(burstRun.raised.count, 1)
        let raisedAt = try! XCTUnwrap(burstRun.raised.first?.timestampMilliseconds)
        XCTAssertGreaterThanOrEqual(raisedAt, burst)
        XCTAssertLessThan(raisedAt - burst, hour)
    }
}
