@testable import GatewayConfig
import GatewayModel
import XCTest

final class ConfigRendererTests: XCTestCase {
    /// GatewayConfiguration is not Equatable; compare what a config means (detector lines differ by design).
    static func assertSameMeaning(_ a: GatewayConfiguration, _ b: GatewayConfiguration, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.gateway, b.gateway, context, file: file, line: line)
        XCTAssertEqual(a.buffer, b.buffer, context, file: file, line: line)
        XCTAssertEqual(a.uplink, b.uplink, context, file: file, line: line)
        XCTAssertEqual(a.buses, b.buses, context, file: file, line: line)
        XCTAssertEqual(a.devices, b.devices, context, file: file, line: line)
        XCTAssertEqual(a.control, b.control, context, file: file, line: line)
        XCTAssertEqual(a.detectors.map(\.type), b.detectors.map(\.type), context, file: file, line: line)
        XCTAssertEqual(a.detectors.map(\.device), b.detectors.map(\.device), context, file: file, line: line)
        XCTAssertEqual(a.detectors.map(\.point), b.detectors.map(\.point), context, file: file, line: line)
        XCTAssertEqual(a.detectors.map(\.parameters), b.detectors.map(\.parameters), context, file: file, line: line)
    }

    func testRenderThenParseGivesTheSameConfiguration() throws {
        for url in try ConfigExamplesTests.exampleFiles() + [ConfigCasesTests.casesDirectory.appendingPathComponent("valid-full/gatewayd.toml"),
                                                            ConfigCasesTests.casesDirectory.appendingPathComponent("valid-aliases/gatewayd.toml")] {
            let original = try ConfigReader.load(path: url.path)
            let text = ConfigRenderer.render(original)
            let again = try ConfigReader.parse(text: text, path: "rendered", purpose: .gateway)
            Self.assertSameMeaning(original, again, url.lastPathComponent)
            // Rendering is stable: the effective config of the effective config is itself.
            var copy = again
            copy.sourcePath = original.sourcePath
            XCTAssertEqual(ConfigRenderer.render(copy), text, url.lastPathComponent)
        }
    }

    func testProgrammaticConfigurationRoundTrips() throws {
        var point = PointConfiguration(name: "odd", table: .input, address: 9, type: .int64, wordOrder: .little,
                                       byteOrder: .little, scale: 1e-5, offset: -273.15, unit: "K \"quoted\"")
        point.scale = 0.1 + 0.2
        let c = GatewayConfiguration(
            gateway: GatewaySettings(id: "gw", dataDirectory: "/d"),
            buffer: BufferSettings(maxSizeBytes: 1_234_567, maxAge: .milliseconds(1500), durability: .full,
                                   commitMaxRecords: 7, commitMaxDelay: .microseconds(1500), memoryQueueRecords: 9),
            uplink: UplinkSettings(broker: BrokerAddress(tls: true, host: "::1", port: 8884), clientID: "c"),
            buses: [BusConfiguration(name: "lan", type: .modbusTCP, host: "h", port: 1502)],
            devices: [DeviceConfiguration(id: "d", bus: "lan", unitID: 0, points: [point])],
            detectors: [DetectorConfiguration(type: "spike", device: "d", point: "odd",
                                              parameters: ["window": .integer(30), "threshold": .double(4.5)])])
        let again = try ConfigReader.parse(text: ConfigRenderer.render(c), path: "rendered")
        Self.assertSameMeaning(c, again, "programmatic")
    }

    func testSecretsAreMasked() {
        let c = GatewayConfiguration(
            gateway: GatewaySettings(id: "gw"),
            detectors: [DetectorConfiguration(type: "spike", device: "d", parameters: ["api_token": .string("s3cr3t"), "window": .integer(5)])])
        let text = ConfigRenderer.render(c)
        XCTAssertFalse(text.contains("s3cr3t"))
        XCTAssertTrue(text.contains("api_token = \"********\""))
        XCTAssertTrue(text.contains("window = 5"))
    }

    func testSizeAndDurationSpellings() {
        XCTAssertEqual(ConfigRenderer.sizeText(1_000_000_000), "1GB")
        XCTAssertEqual(ConfigRenderer.sizeText(512_000_000), "512MB")
        XCTAssertEqual(ConfigRenderer.sizeText(64 * 1_048_576), "64MiB")
        XCTAssertEqual(ConfigRenderer.sizeText(1001), "1001B")
        XCTAssertEqual(ConfigRenderer.durationText(.seconds(86_400 * 30)), "30d")
        XCTAssertEqual(ConfigRenderer.durationText(.milliseconds(1500)), "1500ms")
        XCTAssertEqual(ConfigRenderer.durationText(.microseconds(1500)), "1500us")
        for text in ["1GB", "512MB", "64MiB", "1001B"] {
            XCTAssertEqual(ConfigUnits.size(text).map(ConfigRenderer.sizeText), text)
        }
    }
}
