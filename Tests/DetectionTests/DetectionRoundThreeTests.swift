import Detection
import GatewayModel
import XCTest

/// Round 3: the night-flow trend test, pressure_network on sparse sensors, and
/// a group alarm that survives a restart on the member that dropped.
final class DetectionRoundThreeTests: XCTestCase {
    /// Night flow with a weekday pattern and a slow seasonal rise (0.1 %/day);
    /// the leak twin adds a leak growing by 1 % of the level per night from
    /// `leakFromDay`: too slow for the nightly test, whose baseline follows it.
    /// Only the night window is fed (the detector looks at nothing else).
    func growingLeakSeries(leakFromDay: Int?, days: Int = 130) -> [(Int64, Double)] {
        var noise = Noise(seed: 5)
        var out: [(Int64, Double)] = []
        for d in 0..<days {
            let weekday = d % 7  // jan1 is a Monday
            let factor = weekday == 4 ? 1.2 : (weekday == 5 ? 1.3 : (weekday == 6 ? 1.07 : 1.0))
            let level = 100 * (1 + 0.001 * Double(d))
            let leak = leakFromDay.map { d >= $0 ? Double(d - $0 + 1) : 0 } ?? 0
            // The night window 02:00-04:00 and one reading at 04:00 that closes it.
            for i in 0...24 {
                let ts = jan1 + Int64(d) * day + 2 * hour + Int64(i) * 5 * minute
                out.append((ts, level * factor + leak + noise.next()))
            }
        }
        return out
    }

    func testNightFlowTrendFindsALeakGrowingTooSlowlyForTheNightlyTest() {
        var clean = SinglePointRun("night_flow")
        var leaky = SinglePointRun("night_flow")
        var nightlyOnly = SinglePointRun("night_flow", ["trend_percent": .integer(0)])
        for (ts, v) in growingLeakSeries(leakFromDay: nil) { clean.feed(ts, v) }
        for (ts, v) in growingLeakSeries(leakFromDay: 70) {
            leaky.feed(ts, v)
            nightlyOnly.feed(ts, v)
        }
        XCTAssertTrue(clean.transitions.isEmpty, "seasonal rise is not a leak: \(clean.transitions.map(\.message))")
        XCTAssertTrue(nightlyOnly.raised.isEmpty, "the nightly baseline follows a slow leak: \(nightlyOnly.raised.map(\.message))")
        XCTAssertEqual(leaky.raised.count, 1, "\(leaky.transitions.map(\.message))")
        let raised = leaky.raised.first
        XCTAssertTrue(raised?.message.contains("possible growing leak") ?? false, raised?.message ?? "")
        // Above 20 % in six weeks once the leak passes about 20 flow units, held 3 nights.
        XCTAssertGreaterThan(raised?.timestampMilliseconds ?? 0, jan1 + 85 * day)
        XCTAssertLessThan(raised?.timestampMilliseconds ?? .max, jan1 + 100 * day)
        XCTAssertTrue(leaky.cleared.isEmpty, "a leak still growing keeps its alarm: \(leaky.cleared.map(\.message))")
    }

    /// A burst reported by the nightly test is not reported again by the trend
    /// test once the baseline has accepted it.
    func testABurstIsNotReportedTwice() {
        var run = SinglePointRun("night_flow")
        for (ts, v) in growingLeakSeries(leakFromDay: nil, days: 150) {
            run.feed(ts, v + (ts >= jan1 + 80 * day ? 30 : 0))
        }
        XCTAssertEqual(run.raised.count, 1, "\(run.transitions.map(\.message))")
        XCTAssertEqual(run.raised.first?.timestampMilliseconds, jan1 + 80 * day + 4 * hour)
        XCTAssertTrue(run.cleared.first?.message.contains("accepted as the new baseline") ?? false)
    }

    /// Four sensors sampled every `step`; demand moves them all, a burst at
    /// `burst` pulls sensor 2 down by 0.5.
    func feedDistrict(_ engine: DetectionEngine, from: Int64, to: Int64, step: Int64, burst: Int64?, ids: [PointID] = [0, 1, 2, 3]) -> [AlarmTransition] {
        var noise = Noise(seed: 3)
        var out: [AlarmTransition] = []
        var ts = jan1
        while ts < to {
            let demand = 1 + 0.8 * sin(Double(ts % day) / Double(day) * 2 * .pi)
            for i in 0..<4 {
                var p = 50 - Double(i) - (1 + 0.3 * Double(i)) * demand * demand + 0.02 * noise.next()
                if i == 2, let burst, ts >= burst { p -= 0.5 }
                if ts >= from { out += engine.observe(pointID: ids[i], timestampMilliseconds: ts, value: p, quality: .good) }
            }
            ts += step
        }
        return out
    }

    func districtEngine(catalog: Bool) throws -> DetectionEngine {
        let names = ["pressure-a", "pressure-b", "pressure-c", "pressure-d"]
        let descriptors = names.enumerated().map { PointDescriptor(id: PointID($0.offset), device: $0.element, deviceKind: .pressureSensor, point: "pressure_m", unit: "m") }
        return try DetectionEngine(detectors: [DetectorConfiguration(type: "pressure_network", device: "pressure-a", point: "pressure_m",
                                                                     parameters: ["group": .string("pressure-")])],
                                   catalog: PointCatalog(catalog ? descriptors : []))
    }

    /// At 30-minute sampling the 1-hour window holds two samples of the four
    /// `min_samples` asks for: the threshold rises by √2, and a clear burst is
    /// still found within the hour, with nothing raised on the clean twin.
    func testPressureNetworkOnSparseSensors() throws {
        let burst = jan1 + 6 * day + 10 * hour
        let clean = try feedDistrict(districtEngine(catalog: true), from: jan1, to: jan1 + 8 * day, step: 30 * minute, burst: nil)
        XCTAssertTrue(clean.isEmpty, "\(clean.map(\.message))")
        let raised = try feedDistrict(districtEngine(catalog: true), from: jan1, to: jan1 + 8 * day, step: 30 * minute, burst: burst).filter { $0.state == .raised }
        XCTAssertEqual(raised.count, 1, "\(raised.map(\.message))")
        XCTAssertEqual(raised.first?.pointID, 2)
        XCTAssertGreaterThanOrEqual(raised.first?.timestampMilliseconds ?? 0, burst)
        XCTAssertLessThanOrEqual((raised.first?.timestampMilliseconds ?? .max) - burst, hour)
    }

    /// After a restart the active group alarm is on the member that dropped,
    /// both when the catalog names every member (the daemon) and when members
    /// appear one by one (a replay); it clears on that member.
    func testGroupAlarmIsRestoredOnTheMemberThatDropped() throws {
        let burst = jan1 + 5 * day + 10 * hour
        let restart = burst + 3 * hour
        let before = try districtEngine(catalog: true)
        let raised = feedDistrict(before, from: jan1, to: restart, step: 5 * minute, burst: burst).filter { $0.state == .raised }
        XCTAssertEqual(raised.map(\.pointID), [2])
        let state = before.saveState()

        let daemon = try districtEngine(catalog: true)
        daemon.restoreState(state)
        XCTAssertEqual(daemon.activeAlarms.map(\.pointID), [2], "restored on the member, not the configured pressure-a")

        // A replay meets the points as it reads them; ids differ from the catalog's.
        let replay = try districtEngine(catalog: false)
        replay.restoreState(state)
        let names = ["pressure-a", "pressure-b", "pressure-c", "pressure-d"]
        for (i, n) in names.enumerated() { replay.resolve(pointID: PointID(i), device: n, point: "pressure_m") }
        XCTAssertEqual(replay.activeAlarms.map(\.pointID), [2])

        // Repaired: the clear names the same member.
        let cleared = feedDistrict(daemon, from: restart, to: restart + 2 * day, step: 5 * minute, burst: nil).filter { $0.state == .cleared }
        XCTAssertEqual(cleared.first?.pointID, 2, "\(cleared)")
    }

    /// State saved by round 2 (engine format 1, no member name) is accepted:
    /// the alarm comes back on the configured device, the learning is kept.
    func testFormatOneStateIsAccepted() throws {
        let burst = jan1 + 5 * day + 10 * hour
        let before = try districtEngine(catalog: true)
        _ = feedDistrict(before, from: jan1, to: burst + hour, step: 5 * minute, burst: burst)
        var bytes = try XCTUnwrap(before.saveState()["pressure_network:pressure-a:pressure_m"])
        XCTAssertEqual(bytes[0], 2)
        XCTAssertEqual(bytes[1], 1, "an alarm is active")
        // Format 1 is format 2 without the member's device and point names after the message.
        func length(at offset: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) } }
        let member = 2 + 8 + 8 + 8 + length(at: 18)
        let memberLength = 8 + length(at: member)
        let pointLength = 8 + length(at: member + memberLength)
        bytes.removeSubrange(member..<(member + memberLength + pointLength))
        bytes[0] = 1
        let after = try districtEngine(catalog: true)
        after.restoreState(["pressure_network:pressure-a:pressure_m": bytes])
        XCTAssertEqual(after.activeAlarms.map(\.pointID), [0], "format 1 knew only the configured device")
        // Saved again (format 2, naming pressure-a instead of pressure-c: same length), nothing of the learning is lost.
        XCTAssertEqual(after.saveState()["pressure_network:pressure-a:pressure_m"]?.count, before.saveState()["pressure_network:pressure-a:pressure_m"]?.count,
                       "the learning state was decoded whole")
    }
}
