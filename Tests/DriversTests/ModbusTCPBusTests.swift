import Drivers
import GatewayModel
import Logging
import XCTest

final class ModbusTCPBusTests: XCTestCase {
    private var server: ModbusTCPTestServer!
    private let logger = Logger(label: "test")

    override func setUpWithError() throws { server = try ModbusTCPTestServer() }
    override func tearDown() { server.stop() }

    private func meterPoints() -> [PointConfiguration] {
        [
            PointConfiguration(name: "flow_m3h", table: .holding, address: 0, type: .float32, unit: "m3/h"),
            PointConfiguration(name: "volume_m3", table: .holding, address: 2, type: .uint32, scale: 0.001, unit: "m3"),
            PointConfiguration(name: "temp_c", table: .holding, address: 6, type: .int16, scale: 0.1),
            PointConfiguration(name: "energy", table: .holding, address: 8, type: .float64, wordOrder: .little),
            PointConfiguration(name: "pressure_bar", table: .input, address: 0, type: .int16, scale: 0.01, unit: "bar"),
            PointConfiguration(name: "counter", table: .input, address: 4, type: .uint32, wordOrder: .little, byteOrder: .little),
            PointConfiguration(name: "pump_on", table: .coil, address: 3, type: .bool),
            PointConfiguration(name: "door_open", table: .discrete, address: 10, type: .bool),
        ]
    }

    private func fillMeter(unit: Int = 1) {
        server.maps.setHolding(unit: unit, 0, [0x4148, 0x0000])                 // 12.5
        server.maps.setHolding(unit: unit, 2, [0x0001, 0xE240])                 // 123456 → 123.456
        server.maps.setHolding(unit: unit, 6, [UInt16(bitPattern: -215)])       // -21.5
        let e = Double(98765.25).bitPattern
        server.maps.setHolding(unit: unit, 8, [UInt16(e & 0xFFFF), UInt16(e >> 16 & 0xFFFF), UInt16(e >> 32 & 0xFFFF), UInt16(e >> 48)])
        server.maps.setInput(unit: unit, 0, [UInt16(bitPattern: -150)])         // -1.5 bar
        server.maps.setInput(unit: unit, 4, [0x7856, 0x3412])                   // DCBA of 0x12345678
        server.maps.setCoils(unit: unit, 3, [true])
        server.maps.setDiscrete(unit: unit, 10, [true])
    }

    private let expected: [Double] = [12.5, 123.456, -21.5, 98765.25, -1.5, Double(0x1234_5678), 1, 1]

    func testPollOnceDecodesOverTheWire() throws {
        fillMeter()
        let device = DeviceConfiguration(id: "inlet-flow-1", bus: "plant-lan", unitID: 1, kind: .waterMeter, points: meterPoints())
        let polls = try DeviceCommissioning.pollOnce(bus: server.bus(), device: device, clock: ModbusTestClock())
        XCTAssertEqual(polls.map(\.point), meterPoints().map(\.name))
        for (poll, value) in zip(polls, expected) {
            XCTAssertEqual(poll.quality, .good, "\(poll.point): \(poll.error ?? "")")
            XCTAssertEqual(poll.value!, value, accuracy: 1e-9, poll.point)
        }
        XCTAssertEqual(polls[0].registers, [0x4148, 0x0000])
        XCTAssertEqual(polls[0].unit, "m3/h")
        // Holding, input, coil, discrete: one request each.
        XCTAssertEqual(server.script.requests(unit: 1).map(\.function).sorted(), [1, 2, 3, 4])
    }

    func testBusPollsCoalescedOnItsInterval() throws {
        fillMeter()
        let device = DeviceConfiguration(id: "inlet-flow-1", bus: "plant-lan", unitID: 1, interval: .milliseconds(50), points: meterPoints())
        let ids = (0..<8).map { PointID(100 + $0) }
        let sink = ModbusReadingCollector()
        let clock = ModbusTestClock(wallMilliseconds: 1_795_305_600_000)
        let bus = FieldBus(configuration: server.bus(), devices: [BusDevice(configuration: device, pointIDs: ids)],
                           sink: sink, clock: clock, logger: logger)
        bus.start()
        eventually("5 polls") { sink.good(ids[7]).count >= 5 }
        bus.stop()
        for (id, value) in zip(ids, expected) {
            let readings = sink.readings(of: id)
            XCTAssertFalse(readings.isEmpty)
            for r in readings {
                XCTAssertEqual(r.value!, value, accuracy: 1e-9)
                XCTAssertEqual(r.quality, .good)
                XCTAssertEqual(r.timestampMilliseconds, 1_795_305_600_000)
            }
        }
        // Every poll is exactly four requests: one per table, never one per point.
        let requests = server.script.requests(unit: 1)
        let polls = sink.readings(of: ids[0]).count
        XCTAssertEqual(requests.count, polls * 4)
        XCTAssertTrue(requests.filter { $0.function == 3 }.allSatisfy { $0.address == 0 && $0.count == 12 })
        let status = bus.status()
        XCTAssertEqual(status.devices.first?.state, .ok)
        XCTAssertEqual(status.devices.first?.pollsOK, UInt64(polls))
        XCTAssertEqual(status.devices.first?.lastGoodPollMilliseconds, 1_795_305_600_000)
        XCTAssertGreaterThan(status.utilisation, 0)
    }

    func testClockUnsyncedQuality() throws {
        fillMeter()
        let device = DeviceConfiguration(id: "m", bus: "plant-lan", interval: .milliseconds(50), points: [meterPoints()[0]])
        let sink = ModbusReadingCollector()
        let clock = ModbusTestClock(wallMilliseconds: 86_400_000, trusted: false)
        let bus = FieldBus(configuration: server.bus(), devices: [BusDevice(configuration: device, pointIDs: [1])],
                           sink: sink, clock: clock, logger: logger)
        bus.start()
        eventually("a reading") { !sink.all.isEmpty }
        bus.stop()
        XCTAssertTrue(sink.all.allSatisfy { $0.quality == .clockUnsynced && $0.value == 12.5 && $0.timestampMilliseconds == 86_400_000 })
    }

    func testIllegalAddressOnCoalescedReadFallsBackToOneRequestPerPoint() throws {
        fillMeter()
        // Registers 4–5 (the gap between volume_m3 and temp_c) are not mapped in this device.
        server.script.setHoles(unit: 1, [4..<6])
        let points = Array(meterPoints()[0..<3])
        let device = DeviceConfiguration(id: "inlet-flow-1", bus: "plant-lan", interval: .milliseconds(50), points: points)
        let sink = ModbusReadingCollector()
        let bus = FieldBus(configuration: server.bus(), devices: [BusDevice(configuration: device, pointIDs: [1, 2, 3])],
                           sink: sink, clock: ModbusTestClock(), logger: logger)
        bus.start()
        eventually("4 polls") { sink.good(3).count >= 4 }
        bus.stop()
        // Even the first poll delivers good values: the refused block is re-read point by point.
        XCTAssertTrue(sink.all.allSatisfy { $0.quality == .good })
        let requests = server.script.requests(unit: 1)
        XCTAssertEqual(requests.filter { $0.count == 7 }.count, 1, "the coalesced read is tried once only")
        XCTAssertEqual(requests.filter { $0.count != 7 }.count, sink.readings(of: 1).count * 3)
        XCTAssertTrue(requests.filter { $0.count != 7 }.allSatisfy { [0, 2, 6].contains($0.address) })
    }

    func testDeadUnitBacksOffWhileTheOtherKeepsItsInterval() throws {
        fillMeter(unit: 1)
        fillMeter(unit: 2)
        server.script.silent = [2]
        let live = DeviceConfiguration(id: "live", bus: "plant-lan", unitID: 1, interval: .milliseconds(50), points: [meterPoints()[0]])
        let dead = DeviceConfiguration(id: "dead", bus: "plant-lan", unitID: 2, interval: .milliseconds(50), points: [meterPoints()[0]])
        let sink = ModbusReadingCollector()
        let bus = FieldBus(configuration: server.bus(timeout: .milliseconds(100)),
                           devices: [BusDevice(configuration: live, pointIDs: [1]), BusDevice(configuration: dead, pointIDs: [2])],
                           sink: sink, clock: ModbusTestClock(), logger: logger)
        bus.start()
        eventually("40 polls of the live unit") { sink.good(1).count >= 40 }
        let deadAttempts = server.script.requests(unit: 2).count
        let deadReadings = sink.failed(2)
        // Backoff 100, 200, 400, 800 ms…: a handful of attempts while the live unit was polled 40 times.
        XCTAssertGreaterThanOrEqual(deadAttempts, 2)
        XCTAssertLessThanOrEqual(deadAttempts, 8)
        XCTAssertEqual(deadReadings.count, deadAttempts)
        XCTAssertTrue(deadReadings.allSatisfy { $0.value == nil })
        XCTAssertTrue(sink.readings(of: 1).allSatisfy { $0.quality == .good }, "the live unit never suffers from the dead one")
        var status = bus.status()
        let deadStatus = status.devices.first { $0.id == "dead" }!
        XCTAssertEqual(deadStatus.state, .backoff)
        XCTAssertEqual(deadStatus.lastError, "no answer from unit 2 on plant-lan within 100 ms")
        XCTAssertTrue(status.connected, "a dead unit is no reason to drop the connection")

        // The unit comes back: it is polled again and recovers.
        server.script.silent = []
        eventually("recovery") { !sink.good(2).isEmpty }
        bus.stop()
        status = bus.status()
        XCTAssertEqual(status.devices.first { $0.id == "dead" }!.state, .ok)
        XCTAssertEqual(status.devices.first { $0.id == "dead" }!.consecutiveFailures, 0)
    }

    func testBrokenConnectionIsReopened() throws {
        fillMeter()
        let device = DeviceConfiguration(id: "m", bus: "plant-lan", interval: .milliseconds(50), points: [meterPoints()[0]])
        let sink = ModbusReadingCollector()
        let bus = FieldBus(configuration: server.bus(), devices: [BusDevice(configuration: device, pointIDs: [1])],
                           sink: sink, clock: ModbusTestClock(), logger: logger)
        bus.start()
        eventually("first polls") { sink.good(1).count >= 3 }
        server.dropConnections()
        eventually("a failed poll after the drop") { !sink.failed(1).isEmpty }
        let goodBefore = sink.good(1).count
        eventually("polling resumes on a new connection") { sink.good(1).count >= goodBefore + 3 }
        bus.stop()
        let status = bus.status()
        XCTAssertGreaterThanOrEqual(status.counters["reopens"] ?? 0, 1)
    }

    func testExecuteReadsThroughTheBusAndFailsCleanlyAfterStop() async throws {
        server.maps.setHolding(unit: 5, 100, [1, 2, 3])
        server.maps.setCoils(unit: 5, 0, [true, false, true])
        let bus = FieldBus(configuration: server.bus(), devices: [], sink: ModbusReadingCollector(), clock: ModbusTestClock(), logger: logger)
        bus.start()
        let regs = try await bus.execute(RegisterRequest(unitID: 5, table: .holding, address: 100, count: 3))
        XCTAssertEqual(regs, .registers([1, 2, 3]))
        let bits = try await bus.execute(RegisterRequest(unitID: 5, table: .coil, address: 0, count: 3))
        XCTAssertEqual(bits, .bits([true, false, true]))
        server.script.setHoles(unit: 5, [0..<10])
        do {
            _ = try await bus.execute(RegisterRequest(unitID: 5, table: .holding, address: 0, count: 2))
            XCTFail("expected exception 0x02")
        } catch let error as ModbusError {
            XCTAssertEqual(error, .exception(bus: "plant-lan", unit: 5, code: 2, name: ModbusError.exceptionName(2)))
            XCTAssertTrue(error.description.contains("exception 0x02"), error.description)
        }
        do {
            _ = try await bus.execute(RegisterRequest(unitID: 5, table: .holding, address: 0, count: 126))
            XCTFail("expected invalid request")
        } catch let error as ModbusError {
            XCTAssertTrue(error.description.contains("1–125"), error.description)
        }
        bus.stop()
        do {
            _ = try await bus.execute(RegisterRequest(unitID: 5, table: .holding, address: 100, count: 1))
            XCTFail("expected busStopped")
        } catch let error as ModbusError {
            XCTAssertEqual(error, .busStopped(bus: "plant-lan"))
        }
    }

    func testRefusedConnectionHasAClearMessage() throws {
        let closedPort = server.port
        server.stop()
        server = try ModbusTCPTestServer()  // tearDown stops this one
        var config = server.bus()
        config.port = closedPort
        XCTAssertThrowsError(try ModbusProbe(bus: config)) { error in
            XCTAssertTrue("\(error)".contains("connection refused"), "\(error)")
        }
    }
}
