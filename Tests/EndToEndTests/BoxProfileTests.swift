import Foundation
import GatewayTestSupport
import XCTest

/// Every built-in device profile, polled by the real `gatewayctl` against
/// `gateway-sim` serving the same register map (Sources/GatewaySim/README.md):
/// each point must read `good` and be physically sensible, and totalisers must
/// grow between polls. The parking line protocol goes through a real gatewayd.
final class BoxProfileTests: XCTestCase {
    struct Poll {
        var status: Int32
        var output: String
        /// device → point → (value, quality)
        var points: [String: [String: (value: Double?, quality: String)]]

        func value(_ device: String, _ point: String, file: StaticString = #filePath, line: UInt = #line) -> Double {
            guard let v = points[device]?[point]?.value else {
                XCTFail("no value for \(device)/\(point): \(output)", file: file, line: line)
                return .nan
            }
            return v
        }
    }

    /// Which simulator unit serves each profile's map, and the device using it.
    static let profileUnits: [(profile: String, unit: Int)] = [
        ("eastron-sdm120", 1),
        ("eastron-sdm630", 1),
        ("sim-water-meter", 2),
        ("sim-pressure-sensor", 3),
        ("dynaflox-ultrad", 4),
        ("adam-4017-4-20ma-0-10bar", 5),
    ]
    static let simulatedUnits = "1=electricity,2=water,3=pressure,4=watermeter-ultrad,5=ai-adam4017"

    func ctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try ChildProcess.run(TestPaths.executable("gatewayctl"), arguments, timeout: 60)
        return (r.status, r.stdout, r.stderr)
    }

    func writeConfig(_ devices: String, port: Int, in directory: String = TestPaths.temporaryDirectory("profiles")) throws -> String {
        let path = directory + "/gatewayd.toml"
        try """
        [gateway]
        id = "gw-profiles"
        data_dir = "\(directory)/data"

        [[bus]]
        name = "lan"
        type = "modbus-tcp"
        host = "127.0.0.1"
        port = \(port)
        timeout = "500ms"

        \(devices)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func poll(_ config: String) throws -> Poll {
        let r = try ctl(["poll", "--config", config, "--json"])
        let object = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
        var points: [String: [String: (value: Double?, quality: String)]] = [:]
        for row in object["rows"] as? [[String: Any]] ?? [] {
            let device = row["device"] as? String ?? "", point = row["point"] as? String ?? ""
            points[device, default: [:]][point] = ((row["value"] as? NSNumber)?.doubleValue, row["quality"] as? String ?? "")
        }
        return Poll(status: r.status, output: r.stdout + r.stderr, points: points)
    }

    /// The profile names `config check` lists, so a profile added without a test here fails this file.
    func shippedProfileNames(port: Int) throws -> Set<String> {
        let config = try writeConfig("""
        [[device]]
        id = "probe"
        bus = "lan"
        profile = "no-such-profile"
        """, port: port)
        let check = try ctl(["config", "check", "--config", config])
        XCTAssertEqual(check.status, 1, check.stdout + check.stderr)
        let text = check.stdout + check.stderr
        guard let range = text.range(of: "built-in profiles: ") else {
            XCTFail("config check does not list the built-in profiles: \(text)")
            return []
        }
        let list = text[range.upperBound...].prefix { $0 != "\n" }
        return Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    func testEveryModbusProfileReadsGoodAndSensibleValuesFromTheSimulator() throws {
        // 60× simulated time, so totalisers move visibly between two polls a second apart.
        let sim = try SimulatorProcess(units: Self.simulatedUnits,
                                       extraArguments: ["--time-scale", "60", "--start-time", "2025-06-02T06:00:00Z"])
        XCTAssertEqual(try shippedProfileNames(port: sim.port), Set(Self.profileUnits.map(\.profile)),
                       "every shipped Modbus profile needs a simulator unit and checks in this test")

        let devices = Self.profileUnits.map { entry in
            """
            [[device]]
            id = "\(entry.profile)"
            bus = "lan"
            unit_id = \(entry.unit)
            profile = "\(entry.profile)"
            """
        }.joined(separator: "\n\n")
        let config = try writeConfig(devices, port: sim.port)
        let check = try ctl(["config", "check", "--config", config])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)

        let first = try poll(config)
        XCTAssertEqual(first.status, 0, first.output)
        for entry in Self.profileUnits {
            let points = first.points[entry.profile] ?? [:]
            XCTAssertFalse(points.isEmpty, "\(entry.profile) gave no points: \(first.output)")
            for (name, reading) in points {
                XCTAssertEqual(reading.quality, "good", "\(entry.profile)/\(name): \(first.output)")
                XCTAssertNotNil(reading.value, "\(entry.profile)/\(name) has no value")
            }
        }
        checkElectricity(first)
        checkWater(first)
        checkPressure(first)

        // Totalisers only grow: poll until each has moved (simulated time runs on).
        var later = first
        var grown = false
        for _ in 0..<30 where !grown {
            Thread.sleep(forTimeInterval: 0.5)
            later = try poll(config)
            XCTAssertEqual(later.status, 0, later.output)
            grown = ultradTotal(later) > ultradTotal(first)
                && later.value("sim-water-meter", "volume_m3") > first.value("sim-water-meter", "volume_m3")
                && later.value("eastron-sdm120", "import_energy") > first.value("eastron-sdm120", "import_energy")
        }
        XCTAssertTrue(grown, "a totaliser did not grow: first \(first.output)\nlater \(later.output)")
        for (device, point) in [("dynaflox-ultrad", "volume_m3"), ("eastron-sdm630", "total_energy")] {
            XCTAssertGreaterThanOrEqual(later.value(device, point), first.value(device, point), "\(device)/\(point) went backwards")
        }
    }

    /// The ultraD splits its forward total into whole m3 and a fraction.
    func ultradTotal(_ poll: Poll) -> Double {
        poll.value("dynaflox-ultrad", "volume_m3") + poll.value("dynaflox-ultrad", "volume_fraction_m3")
    }

    func checkElectricity(_ poll: Poll) {
        for device in ["eastron-sdm120", "eastron-sdm630"] {
            let phases = device == "eastron-sdm120" ? ["voltage"] : ["voltage_l1", "voltage_l2", "voltage_l3"]
            for point in phases {
                XCTAssertEqual(poll.value(device, point), 230, accuracy: 10, "\(device)/\(point)")
            }
            XCTAssertEqual(poll.value(device, "frequency"), 50, accuracy: 0.2, "\(device) frequency")
            XCTAssertGreaterThanOrEqual(poll.value(device, "import_energy"), 1520, "\(device) import energy")
            XCTAssertEqual(poll.value(device, "export_energy"), 0, "\(device) export energy")
            XCTAssertGreaterThanOrEqual(poll.value(device, "total_energy"), 1520, "\(device) total energy")
        }
        let current = poll.value("eastron-sdm120", "current")
        XCTAssertTrue((0.3...13).contains(current), "SDM120 current \(current) A")
        let power = poll.value("eastron-sdm120", "active_power"), apparent = poll.value("eastron-sdm120", "apparent_power")
        XCTAssertTrue(power > 0 && power <= apparent, "SDM120 active \(power) W, apparent \(apparent) VA")
        let pf = poll.value("eastron-sdm120", "power_factor")
        XCTAssertTrue((0.85...1.0).contains(pf), "SDM120 power factor \(pf)")
        let phaseSum = ["power_l1", "power_l2", "power_l3"].map { poll.value("eastron-sdm630", $0) }.reduce(0, +)
        XCTAssertEqual(poll.value("eastron-sdm630", "total_power"), phaseSum, accuracy: max(1, phaseSum * 0.01),
                       "SDM630 total power is the sum of its phases")
    }

    func checkWater(_ poll: Poll) {
        for device in ["dynaflox-ultrad", "sim-water-meter"] {
            let flow = poll.value(device, "flow_m3h")
            XCTAssertTrue((0...200).contains(flow), "\(device) flow \(flow) m3/h")
        }
        XCTAssertGreaterThanOrEqual(poll.value("dynaflox-ultrad", "volume_m3"), 4321)
        let fraction = poll.value("dynaflox-ultrad", "volume_fraction_m3")
        XCTAssertTrue(fraction >= 0 && fraction < 1, "the fraction of a m3 is \(fraction)")
        XCTAssertEqual(poll.value("dynaflox-ultrad", "reverse_volume_m3"), 0)
        XCTAssertEqual(poll.value("dynaflox-ultrad", "battery_mv"), 3600, accuracy: 300)
        XCTAssertEqual(poll.value("dynaflox-ultrad", "error_code"), 0)
        XCTAssertGreaterThanOrEqual(poll.value("sim-water-meter", "volume_m3"), 12_345)
        XCTAssertEqual(poll.value("sim-water-meter", "status"), 0)
    }

    func checkPressure(_ poll: Poll) {
        for device in ["adam-4017-4-20ma-0-10bar", "sim-pressure-sensor"] {
            let bar = poll.value(device, "pressure_bar")
            XCTAssertTrue((0.5...10).contains(bar), "\(device) pressure \(bar) bar")
        }
        // Counts → mA → bar: both points come from one register, so they agree exactly.
        let mA = poll.value("adam-4017-4-20ma-0-10bar", "loop_current_ma")
        XCTAssertTrue((4...20).contains(mA), "loop current \(mA) mA")
        XCTAssertEqual(poll.value("adam-4017-4-20ma-0-10bar", "pressure_bar"), (mA - 4) / 16 * 10, accuracy: 1e-6)
        let uA = poll.value("sim-pressure-sensor", "loop_current_ua")
        XCTAssertTrue((4000...20000).contains(uA), "loop current \(uA) uA")
        let celsius = poll.value("sim-pressure-sensor", "temperature_c")
        XCTAssertTrue((5...25).contains(celsius), "water temperature \(celsius) C")
    }

    /// The transmitter's range ends map to the profile's: 4 mA (0 counts) is 0 bar, 20 mA (65535) is 10 bar.
    func testAnalogModuleProfileMapsTheLoopEndsToTheTransmitterRange() throws {
        let sim = try SimulatorProcess(units: "5=ai-adam4017")
        let config = try writeConfig("""
        [[device]]
        id = "inlet-pressure"
        bus = "lan"
        unit_id = 5
        profile = "adam-4017-4-20ma-0-10bar"
        """, port: sim.port)
        for (counts, mA, bar) in [(0, 4.0, 0.0), (65535, 20.0, 10.0), (32768, 12.0, 5.0)] {
            XCTAssertEqual(sim.command("set 5 holding 0 \(counts)")?.hasPrefix("ok"), true)
            let p = try poll(config)
            XCTAssertEqual(p.status, 0, p.output)
            XCTAssertEqual(p.value("inlet-pressure", "loop_current_ma"), mA, accuracy: 0.001)
            XCTAssertEqual(p.value("inlet-pressure", "pressure_bar"), bar, accuracy: 0.001)
        }
        // The module reports each channel's range code (07 = 4–20 mA) at 40201–40208.
        let probe = try ctl(["probe", "modbus", "--tcp", "127.0.0.1:\(sim.port)", "--unit", "5", "--address", "200",
                             "--count", "8", "--json"])
        XCTAssertEqual(probe.status, 0, probe.stderr)
        let object = (try? JSONSerialization.jsonObject(with: Data(probe.stdout.utf8))) as? [String: Any]
        XCTAssertEqual(object?["registers"] as? [Int], Array(repeating: 7, count: 8))
    }

    /// What `profile = "parking-pkd"` stands for: a parking detector on a
    /// serial-line bus yields exactly occupancy, battery_mv and rssi_dbm.
    func testParkingDetectorGivesTheParkingProfilePoints() throws {
        let dir = TestPaths.temporaryDirectory("profile-parking")
        let link = dir + "/ttyPARK"
        let parking = try ChildProcess(TestPaths.executable("gateway-sim"),
                                       ["parking", "--pty", link, "--bays", "P-001", "--heartbeat", "300ms", "--change-rate", "0"])
        defer { parking.kill9() }
        XCTAssertNotNil(parking.waitForLine(containing: "ready", timeout: 10), parking.allOutput)
        let broker = try MosquittoBroker()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-pkd/#")
        let gw = try GatewayProcess(config: """
        [gateway]
        id = "gw-pkd"
        data_dir = "@DATA_DIR@"

        [uplink]
        url = "\(broker.url)"
        topic_prefix = "t"
        batch_max_delay = "200ms"

        [[bus]]
        name = "row-p"
        type = "serial-line"
        protocol = "parking"
        device = "\(link)"

        [[device]]
        id = "bay-p-001"
        bus = "row-p"
        kind = "parking_detector"
        profile = "parking-pkd"
        bay = "P-001"
        """, directory: dir)
        try gw.start()
        parking.send("set P-001 1")
        let expected: Set<String> = ["occupancy", "battery_mv", "rssi_dbm"]
        XCTAssertTrue(sub.waitUntil(timeout: 15) { r in
            Set(r.readings.filter { $0.device == "bay-p-001" }.map(\.point)).isSuperset(of: ["battery_mv", "rssi_dbm"])
                && r.json(topicContaining: "/events/bay-p-001").contains { $0["state"] as? String == "occupied" }
        }, "no heartbeat readings or occupancy event: \(gw.log)")
        XCTAssertEqual(gw.terminate(), 0)

        let readings = sub.readings.filter { $0.device == "bay-p-001" }
        let eventPoints = sub.json(topicContaining: "/events/bay-p-001").compactMap { $0["point"] as? String }
        XCTAssertTrue(Set(readings.map(\.point) + eventPoints).isSubset(of: expected), "points: \(readings.map(\.point)) \(eventPoints)")
        for r in readings {
            XCTAssertEqual(r.quality, "good", "\(r.point)")
            switch r.point {
            case "battery_mv": XCTAssertTrue((3000...3700).contains(r.value ?? 0), "battery \(r.value ?? .nan) mV")
            case "rssi_dbm": XCTAssertTrue((-100 ... -50).contains(r.value ?? 0), "rssi \(r.value ?? .nan) dBm")
            case "occupancy": XCTAssertTrue([0, 1, 2].contains(r.value ?? -1))
            default: break
            }
        }
    }
}
