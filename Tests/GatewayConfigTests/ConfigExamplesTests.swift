import GatewayConfig
import GatewayModel
import XCTest

/// Every file shipped in `configs/` must pass the reader.
final class ConfigExamplesTests: XCTestCase {
    static func exampleFiles() throws -> [URL] {
        // Resolve symlinks so the repository root is found even from a linked checkout.
        let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configs = repo.appendingPathComponent("configs")
        let names = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".toml") }.sorted()
        XCTAssertTrue(names.contains("sample.toml") && names.contains("demo.toml"), "configs/ not found at \(configs.path)")
        return names.map { configs.appendingPathComponent($0) }
    }

    func testEveryExampleIsValid() throws {
        let files = try Self.exampleFiles()
        XCTAssertGreaterThanOrEqual(files.count, 6)
        for url in files {
            do {
                _ = try ConfigReader.load(path: url.path)
            } catch {
                XCTFail("\(url.lastPathComponent):\n\(error)")
            }
        }
    }

    func testDemoMatchesTheSimulator() throws {
        let url = try Self.exampleFiles().first { $0.lastPathComponent == "demo.toml" }!
        let c = try ConfigReader.load(path: url.path)
        XCTAssertEqual(c.gateway.id, "gw-demo-01")
        XCTAssertEqual(c.gateway.dataDirectory, ".demo/data")
        XCTAssertEqual(c.uplink?.broker, BrokerAddress(tls: false, host: "127.0.0.1", port: 18830))
        XCTAssertEqual(c.uplink?.topicPrefix, "demo")
        XCTAssertEqual(c.buses, [BusConfiguration(name: "sim-lan", type: .modbusTCP, host: "127.0.0.1", port: 15020)])
        XCTAssertEqual(c.devices.map(\.id), ["meter-main", "inlet-flow-1", "pressure-1"])
        XCTAssertEqual(c.devices.map(\.unitID), [1, 2, 3])
        XCTAssertEqual(c.devices.map(\.kind), [.electricityMeter, .waterMeter, .pressureSensor])
        XCTAssertEqual(c.devices.map(\.interval), [.seconds(2), .seconds(2), .seconds(2)])
        XCTAssertEqual(c.devices[1].points, [
            PointConfiguration(name: "flow_m3h", table: .holding, address: 0, type: .float32, unit: "m3/h"),
            PointConfiguration(name: "volume_m3", table: .holding, address: 2, type: .uint32, scale: 0.001, unit: "m3"),
        ])
        XCTAssertEqual(c.devices[2].points, [
            PointConfiguration(name: "pressure_bar", table: .input, address: 0, type: .int16, scale: 0.01, unit: "bar"),
        ])
        // The demo shows a burst within its first minutes: rate_of_change on pressure (see docs/detection.md).
        XCTAssertEqual(c.detectors.map(\.type), ["rate_of_change", "night_flow"])
    }
}
