@testable import Drivers
import GatewayModel
import Logging
import XCTest

final class ModbusRTUBusTests: XCTestCase {
    private var server: ModbusRTUTestServer!
    private let logger = Logger(label: "test")

    override func setUpWithError() throws {
        server = try ModbusRTUTestServer(units: [1, 2, 3])
        for unit in 1...3 { server.maps.setHolding(unit: unit, 0, [UInt16(unit * 100), 0x4148, 0x0000]) }
    }

    override func tearDown() { server.stop() }

    private func device(_ unit: Int, interval: Duration = .milliseconds(50)) -> DeviceConfiguration {
        DeviceConfiguration(id: "unit-\(unit)", bus: "rs485-1", unitID: unit, interval: interval, points: [
            PointConfiguration(name: "id", table: .holding, address: 0, type: .uint16),
            PointConfiguration(name: "flow", table: .holding, address: 1, type: .float32),
        ])
    }

    private func ids(_ unit: Int) -> [PointID] { [PointID(unit * 10), PointID(unit * 10 + 1)] }

    private func makeBus(units: [Int], sink: ReadingSink, timeout: Duration = .milliseconds(120)) -> FieldBus {
        FieldBus(configuration: server.bus(timeout: timeout),
                 devices: units.map { BusDevice(configuration: device($0), pointIDs: ids($0)) },
                 sink: sink, clock: ModbusTestClock(), logger: logger)
    }

    func testThreeUnitsOnOneLineOneDead() throws {
        server.script.silent = [3]
        let sink = ModbusReadingCollector()
        let bus = makeBus(units: [1, 2, 3], sink: sink)
        bus.start()
        eventually("units 1 and 2 polled 10 times, unit 3 tried") {
            sink.good(10).count >= 10 && sink.good(20).count >= 10 && !sink.failed(30).isEmpty
        }
        bus.stop()
        XCTAssertTrue(sink.readings(of: 10).allSatisfy { $0.value == 100 })
        XCTAssertTrue(sink.readings(of: 20).allSatisfy { $0.value == 200 })
        XCTAssertTrue(sink.readings(of: 21).allSatisfy { $0.value == 12.5 })
        XCTAssertTrue(sink.readings(of: 30).allSatisfy { $0.quality == .commError && $0.value == nil })
        XCTAssertLessThan(server.script.requests(unit: 3).count, server.script.requests(unit: 1).count / 2)
        XCTAssertEqual(server.script.lock.withLock { server.script.malformedRequests }, 0)
        let status = bus.status()
        XCTAssertEqual(status.devices.map(\.id), ["unit-1", "unit-2", "unit-3"])
        XCTAssertEqual(status.devices[2].lastError, "no answer from unit 3 on rs485-1 within 120 ms")
        XCTAssertGreaterThanOrEqual(status.counters["timeouts"] ?? 0, 1)
    }

    func testExecuteNeverInterleavesWithPolling() async throws {
        server.maps.setHolding(unit: 2, 500, (0..<50).map { UInt16($0) })
        let sink = ModbusReadingCollector()
        let bus = makeBus(units: [1, 2, 3], sink: sink)
        bus.start()
        let answers = try await withThrowingTaskGroup(of: RegisterResponse.self) { group in
            for i in 0..<24 {
                group.addTask {
                    try await bus.execute(RegisterRequest(unitID: 2, table: .holding, address: 500 + i, count: 10))
                }
            }
            var out: [RegisterResponse] = []
            for try await a in group { out.append(a) }
            return out
        }
        eventually("polling went on meanwhile") { sink.good(30).count >= 5 }
        bus.stop()
        XCTAssertEqual(answers.count, 24)
        for a in answers {
            let regs = a.registers!
            XCTAssertEqual(regs, (0..<10).map { regs[0] + UInt16($0) })
        }
        let script = server.script
        script.lock.withLock {
            XCTAssertEqual(script.malformedRequests, 0, "the line only ever carried whole requests")
            XCTAssertEqual(script.answered, script.requests.count, "every request was answered")
            XCTAssertEqual(script.requests.filter { $0.address >= 500 }.count, 24)
        }
        XCTAssertTrue(sink.all.allSatisfy { $0.quality == .good }, "no poll was disturbed by an ad-hoc request")
        XCTAssertEqual(bus.status().counters["adhoc_requests"], 24)
    }

    func testCorruptedAnswersAreCountedAndPollingContinues() throws {
        let sink = ModbusReadingCollector()
        let bus = makeBus(units: [1], sink: sink)
        bus.start()
        eventually("first polls") { sink.good(10).count >= 2 }
        server.script.lock.withLock { server.script.corruptNextAnswers = 3 }
        eventually("bad frames counted") { (bus.status().counters["bad_frames"] ?? 0) >= 1 }
        let goodBefore = sink.good(10).count
        eventually("polling continues") { sink.good(10).count >= goodBefore + 3 }
        bus.stop()
        XCTAssertFalse(sink.failed(10).isEmpty)
        XCTAssertTrue(sink.good(10).allSatisfy { $0.value == 100 }, "a corrupted answer never yields a value")
        XCTAssertTrue(bus.status().devices[0].lastError?.contains("bad answer from unit 1") ?? false)
    }

    func testRandomBytesAsAnswersNeverCrash() async throws {
        server.script.lock.withLock { server.script.fuzz = ModbusFuzzGenerator(seed: 0xC0FFEE) }
        let sink = ModbusReadingCollector()
        let bus = makeBus(units: [1], sink: sink, timeout: .milliseconds(40))
        bus.start()
        // Ad-hoc requests do not back off, so every one of them meets a random answer.
        var failures = 0
        for i in 0..<60 {
            do {
                let answer = try await bus.execute(RegisterRequest(unitID: 2, table: i % 2 == 0 ? .holding : .coil, address: 0, count: 3))
                if let regs = answer.registers { XCTAssertEqual(regs, [200, 0x4148, 0], "only a real answer yields data") }
            } catch is ModbusError {
                failures += 1
            }
        }
        XCTAssertGreaterThan(failures, 50)
        server.script.lock.withLock { server.script.fuzz = nil }
        let answer = try await bus.execute(RegisterRequest(unitID: 2, table: .holding, address: 0, count: 3))
        XCTAssertEqual(answer, .registers([200, 0x4148, 0]), "the line works again once the noise stops")
        bus.stop()
        XCTAssertTrue(sink.good(10).allSatisfy { $0.value == 100 })
        let counters = bus.status().counters
        XCTAssertEqual(counters["adhoc_requests"], 61)
    }

    func testVanishedPortIsReopened() throws {
        let sink = ModbusReadingCollector()
        let bus = makeBus(units: [1], sink: sink)
        bus.start()
        eventually("first polls") { sink.good(10).count >= 2 }
        server.vanish()
        eventually("failures while the port is gone") { sink.failed(10).count >= 3 }
        XCTAssertFalse(bus.status().connected)
        try server.reappear()
        let goodBefore = sink.good(10).count
        eventually("polling resumes on the new port") { sink.good(10).count >= goodBefore + 3 }
        bus.stop()
        let status = bus.status()
        XCTAssertGreaterThanOrEqual(status.counters["reopens"] ?? 0, 1)
        XCTAssertEqual(status.devices[0].state, .ok)
    }

    func testProbeScansAndReads() throws {
        server.script.silent = [3]
        let probe = try ModbusProbe(bus: server.bus(timeout: .milliseconds(80)))
        XCTAssertEqual(probe.scan(units: 1...4), [1, 2])
        XCTAssertEqual(try probe.readRegisters(unit: 2, table: .holding, address: 0, count: 3), [200, 0x4148, 0])
        XCTAssertThrowsError(try probe.readRegisters(unit: 3, table: .holding, address: 0, count: 1)) { error in
            XCTAssertEqual("\(error)", "no answer from unit 3 on rs485-1 within 80 ms")
        }
        XCTAssertThrowsError(try probe.readRegisters(unit: 0, table: .holding, address: 0, count: 1)) { error in
            XCTAssertTrue("\(error)".contains("0 is broadcast"), "\(error)")
        }
    }

    func testMissingPortSaysWhatToCheck() {
        var config = server.bus()
        config.device = server.directory + "/ttyUSB-missing"
        XCTAssertThrowsError(try ModbusProbe(bus: config)) { error in
            XCTAssertTrue("\(error)".contains("no such device — is the USB adapter plugged in?"), "\(error)")
        }
        let device = DeviceConfiguration(id: "x", bus: "rs485-1", points: [PointConfiguration(name: "p", address: 0)])
        XCTAssertThrowsError(try DeviceCommissioning.pollOnce(bus: config, device: device, clock: ModbusTestClock()))
    }

    func testInterFrameSilence() {
        XCTAssertEqual(ModbusLink.interFrameSilence(BusConfiguration(name: "a", type: .modbusRTU, baud: 9600)), 3_645_833)  // 8N1: 10 bits per character
        XCTAssertEqual(ModbusLink.interFrameSilence(BusConfiguration(name: "a", type: .modbusRTU, baud: 115_200)), 1_750_000)
    }
}
