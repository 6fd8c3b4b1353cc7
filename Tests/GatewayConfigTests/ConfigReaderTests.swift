@testable import GatewayConfig
import GatewayModel
import XCTest

final class ConfigReaderTests: XCTestCase {
    private func parse(_ text: String, purpose: ConfigPurpose = .gateway) throws -> GatewayConfiguration {
        try ConfigReader.parse(text: text, path: "test.toml", purpose: purpose)
    }

    private func problems(_ text: String, purpose: ConfigPurpose = .gateway) -> [ConfigProblem] {
        do {
            _ = try parse(text, purpose: purpose)
            XCTFail("expected problems")
            return []
        } catch let error as ConfigProblems {
            return error.problems
        } catch {
            XCTFail("unexpected error \(error)")
            return []
        }
    }

    func testDefaultsComeFromTheModel() throws {
        let c = try parse("[gateway]\nid = \"gw-1\"\n")
        XCTAssertEqual(c.gateway, GatewaySettings(id: "gw-1"))
        XCTAssertEqual(c.buffer, BufferSettings())
        XCTAssertNil(c.uplink)
        XCTAssertEqual(c.control, ControlSettings())
        XCTAssertEqual(c.sourcePath, "test.toml")
    }

    func testDurationsAndSizes() throws {
        let c = try parse("""
        [gateway]
        id = "gw-1"
        [buffer]
        max_size = "64MiB"
        max_age = "1w"
        commit_max_delay = "1.5s"
        [uplink]
        url = "mqtt://h"
        batch_max_delay = "250ms"
        reconnect_max_delay = "2h"
        """)
        XCTAssertEqual(c.buffer.maxSizeBytes, 64 * 1_048_576)
        XCTAssertEqual(c.buffer.maxAge, .seconds(7 * 86_400))
        XCTAssertEqual(c.buffer.commitMaxDelay, .milliseconds(1500))
        XCTAssertEqual(c.uplink?.batchMaxDelay, .milliseconds(250))
        XCTAssertEqual(c.uplink?.reconnectMaxDelay, .seconds(7200))
        XCTAssertEqual(c.uplink?.clientID, "gw-1", "client_id defaults to the gateway id")
        XCTAssertEqual(c.uplink?.broker, BrokerAddress(tls: false, host: "h", port: 1883))
    }

    func testBareNumberDurationAsksForAUnit() {
        let found = problems("[gateway]\nid = \"gw\"\n[buffer]\nmax_age = 30\n")
        XCTAssertEqual(found.map(\.description),
                       ["test.toml:4: buffer.max_age: the bare number 30 has no unit; write it as a string with a unit, like \"30s\" or \"30ms\""])
    }

    func testTopicPrefixWithAnEmptyLevelIsRefusedWhereverTheLevelIs() throws {
        for prefix in ["/utility", "utility/", "utility//north", "/"] {
            let found = problems("[gateway]\nid = \"gw\"\n[uplink]\nurl = \"mqtt://h\"\ntopic_prefix = \"\(prefix)\"\n")
            XCTAssertEqual(found.map(\.description), [
                "test.toml:5: uplink.topic_prefix: \"\(prefix)\" has an empty topic level; remove the leading, trailing or doubled \"/\"",
            ], prefix)
        }
        XCTAssertEqual(try parse("[gateway]\nid = \"gw\"\n[uplink]\nurl = \"mqtt://h\"\ntopic_prefix = \"utility/north\"\n").uplink?.topicPrefix,
                       "utility/north")
    }

    func testProfileExpandsIntoPointsAndSetsKind() throws {
        let c = try parse("""
        [gateway]
        id = "gw"
        [[bus]]
        name = "rs485"
        type = "modbus-rtu"
        device = "/dev/ttyUSB0"
        [[device]]
        id = "m"
        bus = "rs485"
        profile = "eastron-sdm120"
        """)
        XCTAssertEqual(c.devices.count, 1)
        XCTAssertEqual(c.devices[0].profile, "eastron-sdm120")
        XCTAssertEqual(c.devices[0].kind, .electricityMeter)
        XCTAssertEqual(c.devices[0].points, DeviceProfiles.points(for: "eastron-sdm120"))
        XCTAssertEqual(c.buses[0].timeout, .milliseconds(500), "RTU timeout default")
    }

    func testBoolOnARegisterAndBitTableDefaults() throws {
        let c = try parse("""
        [gateway]
        id = "gw"
        [[bus]]
        name = "lan"
        type = "modbus-tcp"
        host = "h"
        [[device]]
        id = "plc"
        bus = "lan"
          [[device.point]]
          name = "running"
          table = "coil"
          address = 3
          [[device.point]]
          name = "alarm"
          table = "input"
          address = 3
          type = "bool"
        """)
        XCTAssertEqual(c.devices[0].points.map(\.type), [.bool, .bool])
        XCTAssertEqual(c.devices[0].points.map(\.table), [.coil, .input])
    }

    func testEveryProblemIsReportedInFileOrder() {
        let found = problems("""
        [gateway]
        id = "gw"
        [[bus]]
        name = "lan"
        type = "modbus-tcp"
        port = 0
        [[device]]
        id = "d"
        bus = "lan"
        interval = 10
        """)
        XCTAssertEqual(found.map(\.line), [3, 6, 7, 10])
        XCTAssertEqual(found.map(\.key), ["bus[0].host", "bus[0].port", "device[0]", "device[0].interval"])
    }

    func testReplayPurposeNeedsNoDevices() throws {
        let text = "[gateway]\nid = \"lab\"\n[[detector]]\ntype = \"spike\"\ndevice = \"x\"\npoint = \"y\"\n"
        let c = try parse(text, purpose: .replay)
        XCTAssertEqual(c.detectors.map(\.device), ["x"])
        XCTAssertEqual(c.detectors[0].line, 3)
        XCTAssertEqual(problems(text).map(\.key), ["detector[0].device"])
    }

    func testDetectorParametersKeepTheirLines() throws {
        let c = try parse("""
        [gateway]
        id = "lab"
        [[detector]]
        type = "range"
        device = "x"
        point = "y"
        min = 1
        max = 2.5
        delay = "5m"
        """, purpose: .replay)
        XCTAssertEqual(c.detectors[0].parameters, ["min": .integer(1), "max": .double(2.5), "delay": .string("5m")])
        XCTAssertEqual(c.detectors[0].parameterLines, ["min": 7, "max": 8, "delay": 9])
    }

    func testLoadReportsAMissingFile() {
        XCTAssertThrowsError(try ConfigReader.load(path: "/nonexistent/gatewayd.toml")) { error in
            let problems = (error as? ConfigProblems)?.problems ?? []
            XCTAssertEqual(problems.count, 1)
            XCTAssertEqual(problems.first?.key, "file")
            XCTAssertTrue(problems.first?.description.hasPrefix("/nonexistent/gatewayd.toml:1: file: cannot read the configuration file: No such file or directory") ?? false,
                          problems.first?.description ?? "")
        }
    }

    func testProblemsDescriptionIsOneLineEach() {
        let p = ConfigProblems(problems: [
            ConfigProblem(file: "f.toml", line: 3, key: "bus[0].baud", message: "bad"),
            ConfigProblem(file: "f.toml", line: 9, key: "gateway.id", message: "missing"),
        ])
        XCTAssertEqual(p.description, "f.toml:3: bus[0].baud: bad\nf.toml:9: gateway.id: missing")
    }

    func testDeviceProfilesAreWellFormed() {
        XCTAssertEqual(DeviceProfiles.names, ["adam-4017-4-20ma-0-10bar", "dynaflox-ultrad", "eastron-sdm120", "eastron-sdm630",
                                              "sim-pressure-sensor", "sim-water-meter"])
        for name in DeviceProfiles.names {
            let points = DeviceProfiles.points(for: name) ?? []
            XCTAssertFalse(points.isEmpty, name)
            XCTAssertEqual(Set(points.map(\.name)).count, points.count, "\(name): point names unique")
            for p in points { XCTAssertNil(Identifier.problem(p.name), "\(name).\(p.name)") }
        }
        XCTAssertEqual(DeviceProfiles.points(for: "eastron-sdm120")?.first { $0.name == "total_energy" }?.address, 0x0156)
        XCTAssertNil(DeviceProfiles.points(for: "nope"))
    }
}
