import Detection
import GatewayModel
import XCTest

/// The `make demo` detectors (configs/demo.toml) on a series shaped like the
/// simulator's district (GatewaySim WaterNetworkModel): weekday demand curve,
/// pressure p0 − k·Q², polled every 2 s of wall time at TIME_SCALE 30, then a
/// burst (+8 m3/h, −0.3 bar). The demo promises an alarm right after the burst
/// and none before it, through the steepest demand ramp of the day.
final class DemoScenarioTests: XCTestCase {
    /// The simulator's weekday curve (hour, factor of the mean).
    let weekday: [(Double, Double)] = [(0, 0.45), (3, 0.30), (5, 0.42), (7.5, 1.65), (9, 1.35), (12, 1.10), (15, 1.00),
                                       (17, 1.15), (19.5, 1.50), (21, 1.15), (22.5, 0.75), (24, 0.45)]

    func demand(atHour h: Double) -> Double {
        let h = h.truncatingRemainder(dividingBy: 24)
        for i in 1..<weekday.count where h <= weekday[i].0 {
            let (h0, f0) = weekday[i - 1], (h1, f1) = weekday[i]
            return f0 + (f1 - f0) * (h - h0) / (h1 - h0)
        }
        return weekday[0].1
    }

    func demoEngine() throws -> DetectionEngine {
        let catalog = PointCatalog([
            PointDescriptor(id: 0, device: "inlet-flow-1", deviceKind: .waterMeter, point: "flow_m3h", unit: "m3/h"),
            PointDescriptor(id: 1, device: "pressure-1", deviceKind: .pressureSensor, point: "pressure_bar", unit: "bar"),
        ])
        // The [[detector]] entries of configs/demo.toml.
        return try DetectionEngine(detectors: [
            DetectorConfiguration(type: "rate_of_change", device: "pressure-1", point: "pressure_bar",
                                  parameters: ["max_rate": .double(3.0), "severity": .string("critical"), "clear_after": .string("30m")]),
            DetectorConfiguration(type: "night_flow", device: "inlet-flow-1", point: "flow_m3h"),
        ], catalog: catalog)
    }

    /// Runs `minutes` of wall time starting at simulated `startHour`, the burst after `leakAfter` wall seconds.
    func run(startHour: Double, leakAfterSeconds: Int64, minutes: Int64) throws -> (raised: [AlarmTransition], leakAt: Int64) {
        let engine = try demoEngine()
        var noise = Noise(seed: UInt64(startHour * 100) + 7)
        let t0 = jan1 + 7 * day
        let leakAt = t0 + leakAfterSeconds * 1000
        var raised: [AlarmTransition] = []
        var ts = t0
        while ts < t0 + minutes * minute {
            let simHour = startHour + Double(ts - t0) / 1000 * 30 / 3600
            let leaking = ts >= leakAt
            let flow = 25 * demand(atHour: simHour) * (1 + 0.02 * noise.next()) + (leaking ? 8 : 0)
            var pressure = 4.25 - 0.00075 * flow * flow - (leaking ? 0.3 : 0) + 0.01 * noise.next()
            pressure = (pressure * 100).rounded() / 100  // int16 hundredths of bar
            for t in engine.observe(pointID: 0, timestampMilliseconds: ts, value: flow, quality: .good) where t.state == .raised { raised.append(t) }
            for t in engine.observe(pointID: 1, timestampMilliseconds: ts, value: pressure, quality: .good) where t.state == .raised { raised.append(t) }
            ts += 2000
        }
        return (raised, leakAt)
    }

    func testBurstRaisesRightAfterTheLeakAndNothingBefore() throws {
        // Every start time of day, so the steepest ramps (05:00–07:30, 19:30–22:30) run before the burst.
        for startHour in stride(from: 0.0, to: 24.0, by: 1.5) {
            let (raised, leakAt) = try run(startHour: startHour, leakAfterSeconds: 60 * 4, minutes: 8)
            XCTAssertFalse(raised.contains { $0.timestampMilliseconds < leakAt }, "alarm before the burst at start hour \(startHour): \(raised)")
            let alarm = raised.first { $0.timestampMilliseconds >= leakAt }
            XCTAssertNotNil(alarm, "no alarm after the burst at start hour \(startHour)")
            if let alarm {
                XCTAssertEqual(alarm.type, "rate_of_change")
                XCTAssertEqual(alarm.pointID, 1)
                XCTAssertLessThanOrEqual(alarm.timestampMilliseconds - leakAt, 10_000, "the demo promises the alarm at the first polls after the burst")
            }
        }
    }

    func testNoAlarmWithoutALeakThroughAWholeSimulatedDay() throws {
        // 48 wall minutes at ×30 are a whole simulated day of demand.
        let (raised, _) = try run(startHour: 0, leakAfterSeconds: 3600, minutes: 48)
        XCTAssertEqual(raised, [], "the demo detectors must stay silent on an ordinary day")
    }
}
