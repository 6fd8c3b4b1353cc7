import Foundation
import Detection
import GatewayModel
import XCTest

final class DetectionEngineTests: XCTestCase {
    func testValidationNamesEveryProblem() {
        XCTAssertEqual(DetectorRegistry.validate(DetectorConfiguration(type: "nigth_flow", device: "d", point: "p")).map(\.key), ["type"])
        let problems = DetectorRegistry.validate(DetectorConfiguration(type: "night_flow", device: "d", point: nil,
            parameters: ["threshold_percent": .string("ten"), "window_start": .string("2x"), "colour": .string("red")]))
        XCTAssertEqual(Set(problems.map(\.key)), ["point", "threshold_percent", "window_start", "colour"])
        XCTAssertTrue(problems.first { $0.key == "colour" }!.message.contains("unknown parameter"))
        XCTAssertEqual(DetectorRegistry.validate(DetectorConfiguration(type: "range", device: "d", point: "p")).map(\.key), ["min"])
        XCTAssertEqual(DetectorRegistry.validate(DetectorConfiguration(type: "night_flow", device: "d", point: "p", parameters: ["utc_offset": .string("-5h")])), [])
        XCTAssertEqual(DetectorRegistry.validate(DetectorConfiguration(type: "pressure_network", device: "d", point: "p")).map(\.key), ["group"])
        XCTAssertEqual(DetectorRegistry.validate(DetectorConfiguration(type: "pressure_network", device: "flow-1", point: "p", parameters: ["group": .string("pressure-")])).map(\.key), ["group"],
                       "the device must be a member of the group")
        for type in DetectorRegistry.types where type != "range" && type != "rate_of_change" && type != "pressure_network" {
            XCTAssertEqual(DetectorRegistry.validate(DetectorConfiguration(type: type, device: "d", point: "p")), [], "\(type) defaults must be valid")
        }
        XCTAssertThrowsError(try DetectionEngine(detectors: [DetectorConfiguration(type: "spike", device: "d", point: "p", parameters: ["window": .integer(1)])], catalog: PointCatalog([])))
    }

    /// A burst near one of four sensors while demand moves all of them: the
    /// group detector raises on that sensor, after the burst, and not before.
    func testPressureNetworkRaisesOnTheSensorThatDropped() throws {
        let engine = try DetectionEngine(detectors: [DetectorConfiguration(type: "pressure_network", device: "pressure-a", point: "pressure_m",
                                                                           parameters: ["group": .string("pressure-")])], catalog: PointCatalog([]))
        let names = ["pressure-a", "pressure-b", "pressure-c", "pressure-d", "flow-1"]
        for (i, n) in names.enumerated() { engine.resolve(pointID: PointID(i), device: n, point: n == "flow-1" ? "flow_m3h" : "pressure_m") }
        var noise = Noise(seed: 3)
        let burst = jan1 + 5 * day + 10 * hour
        var raised: [AlarmTransition] = []
        var ts = jan1
        while ts < jan1 + 6 * day {
            let demand = 1 + 0.8 * sin(Double(ts % day) / Double(day) * 2 * .pi)
            for i in 0..<4 {
                var p = 50 - Double(i) - (1 + 0.3 * Double(i)) * demand * demand + 0.02 * noise.next()
                if i == 2 && ts >= burst { p -= 0.5 }
                raised += engine.observe(pointID: PointID(i), timestampMilliseconds: ts, value: p, quality: .good).filter { $0.state == .raised }
            }
            raised += engine.observe(pointID: 4, timestampMilliseconds: ts, value: 10, quality: .good).filter { $0.state == .raised }
            ts += 5 * minute
        }
        XCTAssertEqual(raised.count, 1, "\(raised)")
        XCTAssertEqual(raised.first?.pointID, 2, "the alarm names the sensor near the burst")
        XCTAssertGreaterThanOrEqual(raised.first?.timestampMilliseconds ?? 0, burst)
        XCTAssertLessThanOrEqual((raised.first?.timestampMilliseconds ?? .max) - burst, hour)
    }

    func testPointsResolvedLaterAreWatched() throws {
        let engine = try DetectionEngine(detectors: [DetectorConfiguration(type: "range", device: "d", point: "p", parameters: ["max": .integer(1)])], catalog: PointCatalog([]))
        XCTAssertEqual(engine.unresolved.count, 1)
        engine.resolve(pointID: 5, device: "d", point: "p")
        XCTAssertTrue(engine.unresolved.isEmpty)
        let out = engine.observe(pointID: 5, timestampMilliseconds: jan1, value: 3, quality: .good)
        XCTAssertEqual(out.map(\.state), [.raised])
        XCTAssertEqual(engine.activeAlarms.map(\.alarmID), ["range:d:p"])
    }

    /// A restored engine continues exactly like one that never stopped.
    func testLearningStateSurvivesSaveAndRestore() throws {
        let detectors = [
            DetectorConfiguration(type: "night_flow", device: "dma", point: "flow"),
            DetectorConfiguration(type: "pressure_drop", device: "dma", point: "pressure"),
            DetectorConfiguration(type: "spike", device: "dma", point: "pressure"),
        ]
        let catalog = PointCatalog([
            PointDescriptor(id: 0, device: "dma", deviceKind: .waterMeter, point: "flow", unit: "m3/h"),
            PointDescriptor(id: 1, device: "dma", deviceKind: .pressureSensor, point: "pressure", unit: "m"),
        ])
        var noise = Noise(seed: 11)
        var samples: [(PointID, Int64, Double)] = []
        for i in 0..<(50 * 288) {
            let ts = jan1 + Int64(i) * 5 * minute
            let d = i / 288
            samples.append((0, ts, (d % 7 == 5 ? 130 : 100) + noise.next() + (d >= 35 ? 15 : 0)))
            samples.append((1, ts, 40 + 0.05 * noise.next() - (i == 45 * 288 ? 5 : 0)))
        }
        let uninterrupted = try DetectionEngine(detectors: detectors, catalog: catalog)
        var expected: [AlarmTransition] = []
        for (id, ts, v) in samples { expected += uninterrupted.observe(pointID: id, timestampMilliseconds: ts, value: v, quality: .good) }
        XCTAssertFalse(expected.isEmpty, "the series must make the detectors speak")

        var first = try DetectionEngine(detectors: detectors, catalog: catalog)
        var got: [AlarmTransition] = []
        for (n, (id, ts, v)) in samples.enumerated() {
            // Restart mid-way, twice (once while an alarm is active).
            if n == samples.count / 3 || n == 2 * 36 * 288 {
                let state = first.saveState()
                first = try DetectionEngine(detectors: detectors, catalog: catalog)
                first.restoreState(state)
            }
            got += first.observe(pointID: id, timestampMilliseconds: ts, value: v, quality: .good)
        }
        XCTAssertEqual(got, expected)
    }
}
