import Drivers
import Foundation
import GatewayModel
import Logging
import XCTest

/// Scheduling uses the monotonic clock: stepping the wall clock backwards or
/// forwards during polling neither stalls the polls nor fires a burst of
/// "missed" ones; timestamps follow the wall clock.
final class WallClockStepTests: XCTestCase {
    func testWallClockStepsDoNotDisturbPolling() throws {
        let server = try ModbusTCPTestServer()
        defer { server.stop() }
        server.maps.setHolding(unit: 1, 0, [0x0001])
        let clock = ModbusTestClock(wallMilliseconds: 1_795_305_600_000)
        let device = DeviceConfiguration(id: "m", bus: "plant-lan", interval: .milliseconds(100),
                                         points: [PointConfiguration(name: "p", address: 0, type: .uint16)])
        let sink = ModbusReadingCollector()
        let bus = FieldBus(configuration: server.bus(), devices: [BusDevice(configuration: device, pointIDs: [7])],
                           sink: sink, clock: clock, logger: Logger(label: "test"))
        bus.start()
        defer { bus.stop() }
        eventually("first polls") { sink.all.count >= 3 }

        // A day backwards: a wall-clock scheduler would wait a day for the next poll.
        let before = sink.all.count
        clock.set(wallMilliseconds: 1_795_305_600_000 - 86_400_000, trusted: true)
        eventually("polls after a backwards step") { sink.all.count >= before + 5 }
        XCTAssertTrue(sink.all.suffix(3).allSatisfy { $0.timestampMilliseconds == 1_795_305_600_000 - 86_400_000 })

        // Two days forwards: a wall-clock scheduler would fire ~1.7 million missed polls at once.
        let atStep = sink.all.count
        clock.set(wallMilliseconds: 1_795_305_600_000 + 86_400_000, trusted: true)
        Thread.sleep(forTimeInterval: 0.5)
        let afterHalfSecond = sink.all.count - atStep
        XCTAssertLessThan(afterHalfSecond, 20, "a forward step caused a burst of polls")
        eventually("polls after a forward step") { sink.all.count >= atStep + 5 }
        XCTAssertEqual(sink.all.last?.timestampMilliseconds, 1_795_305_600_000 + 86_400_000)
    }
}
