import Drivers
import GatewayModel
import Logging
import XCTest

final class FieldBusTests: XCTestCase {
    private let logger = Logger(label: "test")

    func testDevicePointsFollowTheConfigurationOrParkingPoints() {
        let meter = DeviceConfiguration(id: "m", bus: "b", points: [
            PointConfiguration(name: "flow_m3h", address: 0, type: .float32, unit: "m3/h"),
            PointConfiguration(name: "pump_on", table: .coil, address: 0, type: .bool),
        ])
        XCTAssertEqual(DevicePoints.points(for: meter).map(\.name), ["flow_m3h", "pump_on"])
        XCTAssertEqual(DevicePoints.points(for: meter).map(\.unit), ["m3/h", ""])
        let bay = DeviceConfiguration(id: "bay-a-017", bus: "parking-row-a", kind: .parkingDetector, bay: "A-017")
        XCTAssertEqual(DevicePoints.points(for: bay).map(\.name), ParkingPoints.points.map(\.name))
    }

    func testRawRequestsOnASerialLineBusAreRefusedClearly() async {
        let config = BusConfiguration(name: "parking-row-a", type: .serialLine, device: "/nonexistent/tty", lineProtocol: .parking)
        let bus = FieldBus(configuration: config, devices: [], sink: ModbusReadingCollector(), clock: ModbusTestClock(), logger: logger)
        do {
            _ = try await bus.execute(RegisterRequest(unitID: 1, table: .holding, address: 0, count: 1))
            XCTFail("expected notModbus")
        } catch {
            XCTAssertEqual("\(error)", "bus parking-row-a is a serial-line bus; raw register requests need a Modbus bus")
        }
        XCTAssertEqual(bus.status().type, "serial-line")
    }

    func testStopFailsQueuedRequestsInsteadOfHanging() async throws {
        let server = try ModbusTCPTestServer()
        defer { server.stop() }
        server.script.silent = [9]
        let bus = FieldBus(configuration: server.bus(timeout: .milliseconds(100)), devices: [],
                           sink: ModbusReadingCollector(), clock: ModbusTestClock(), logger: logger)
        bus.start()
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    do {
                        _ = try await bus.execute(RegisterRequest(unitID: 9, table: .holding, address: 0, count: 1))
                        return "answered"
                    } catch let error as ModbusError {
                        if case .busStopped = error { return "stopped" }
                        if case .timeout = error { return "timeout" }
                        return "\(error)"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            // Let the first request reach the line, then shut down while the rest wait.
            while server.script.requestCount == 0 { try? await Task.sleep(nanoseconds: 5_000_000) }
            bus.stop()
            var out: [String] = []
            for await o in group { out.append(o) }
            return out
        }
        XCTAssertEqual(outcomes.count, 10)
        XCTAssertTrue(outcomes.allSatisfy { $0 == "stopped" || $0 == "timeout" }, "\(outcomes)")
        XCTAssertTrue(outcomes.contains("stopped"))
        XCTAssertEqual(server.script.requests(unit: 9).count, outcomes.filter { $0 == "timeout" }.count)
    }

    func testCancelledRequestReturnsPromptly() async throws {
        let server = try ModbusTCPTestServer()
        defer { server.stop() }
        server.script.silent = [9]
        let bus = FieldBus(configuration: server.bus(timeout: .milliseconds(300)), devices: [],
                           sink: ModbusReadingCollector(), clock: ModbusTestClock(), logger: logger)
        bus.start()
        defer { bus.stop() }
        let task = Task { try await bus.execute(RegisterRequest(unitID: 9, table: .holding, address: 0, count: 1)) }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected cancellation")
        } catch is CancellationError {
        } catch {
            // The request may already have been on the line when cancelled.
            XCTAssertTrue(error is ModbusError, "\(error)")
        }
    }
}
