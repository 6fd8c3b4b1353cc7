import XCTest
@testable import Drivers
import GatewayModel
import Logging

/// Collects what a bus delivers, for assertions from the test thread.
final class CollectingSink: ReadingSink, @unchecked Sendable {
    // Invariant: both arrays are only touched with `lock` held.
    private let lock = ConditionLock()
    private var readingsStore: [Reading] = []
    private var eventsStore: [DeviceEvent] = []

    func deliver(readings: [Reading]) { lock.withLock { readingsStore += readings } }
    func deliver(event: DeviceEvent) { lock.withLock { eventsStore.append(event) } }

    var readings: [Reading] { lock.withLock { readingsStore } }
    var events: [DeviceEvent] { lock.withLock { eventsStore } }
    func events(point: PointID) -> [DeviceEvent] { events.filter { $0.pointID == point } }
    func values(point: PointID) -> [Double] { readings.filter { $0.pointID == point }.compactMap(\.value) }
}

/// Keeps every log line, to check what a technician would see in the journal.
struct CapturingLogHandler: LogHandler {
    final class Lines: @unchecked Sendable {
        // Invariant: `stored` is only touched with `lock` held.
        private let lock = ConditionLock()
        private var stored: [(level: Logger.Level, text: String)] = []
        func append(_ level: Logger.Level, _ text: String) { lock.withLock { stored.append((level, text)) } }
        var all: [(level: Logger.Level, text: String)] { lock.withLock { stored } }
        func count(containing needle: String) -> Int { all.filter { $0.text.contains(needle) }.count }
    }

    let lines: Lines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        lines.append(level, message.description)
    }
}

/// The bus on a real pseudo-terminal: the test plays the concentrator on the master.
final class ParkingLineBusTests: XCTestCase {
    private let bayA = BusDevice(configuration: DeviceConfiguration(id: "bay-a-017", bus: "parking-row-a",
                                                                    kind: .parkingDetector, bay: "A-017"),
                                 pointIDs: [10, 11, 12])
    private let bayB = BusDevice(configuration: DeviceConfiguration(id: "bay-a-018", bus: "parking-row-a",
                                                                    kind: .parkingDetector, bay: "A-018"),
                                 pointIDs: [20, 21, 22])

    private func makeBus(_ line: TestSerialLine, sink: CollectingSink, debounce: Duration = .milliseconds(150),
                         heartbeat: Duration = .seconds(120), log: CapturingLogHandler.Lines = .init(),
                         summaryInterval: Duration = .seconds(300)) -> ParkingLineBus {
        let configuration = BusConfiguration(name: "parking-row-a", type: .serialLine, device: line.link, baud: 9600,
                                             lineProtocol: .parking, debounce: debounce, heartbeatTimeout: heartbeat)
        let logger = Logger(label: "test.parking") { _ in CapturingLogHandler(lines: log) }
        return ParkingLineBus(configuration: configuration, devices: [bayA, bayB], sink: sink, clock: SystemClock(),
                              logger: logger, reopenBackoff: (.milliseconds(20), .milliseconds(200)),
                              summaryInterval: summaryInterval)
    }

    private func startConnected(_ bus: ParkingLineBus) {
        bus.start()
        waitUntil("the bus has opened the port") { bus.status().connected }
    }

    func testNoiseBadFramesCounterJumpAndUnknownBay() throws {
        let line = try TestSerialLine()
        let sink = CollectingSink()
        let bus = makeBus(line, sink: sink)
        startConnected(bus)
        defer { bus.stop() }

        var stream = "noise\u{07}\t"                                                       // 7 garbage bytes
        stream += stateFrame("A-017", .occupied, battery: 3600, counter: 10).encoded
        stream += withBadChecksum(stateFrame("A-017", .free, battery: 3600, counter: 11))   // attributed to A-017
        stream += "$PKD,A-0"                                                                // cut by the next `$`
        stream += heartbeatFrame("A-018", battery: 3550, rssi: -87, counter: 5).encoded
        stream += heartbeatFrame("A-017", battery: 3590, rssi: -80, counter: 14).encoded    // 11, 12, 13 lost
        stream += stateFrame("Z-999", .occupied, counter: 1).encoded                        // no such device
        stream += heartbeatFrame("A-018", battery: 3550, rssi: -87, counter: 5).encoded     // repeated
        line.send(stream)

        waitUntil("the occupied event and all frames are processed") {
            !sink.events(point: 10).isEmpty && bus.status().counters["frames_ok"] == 5
        }
        XCTAssertEqual(sink.events, [DeviceEvent(pointID: 10, timestampMilliseconds: sink.events.first!.timestampMilliseconds,
                                                 state: "occupied", value: 1, quality: .good)])
        XCTAssertEqual(sink.values(point: 11), [3600, 3590])
        XCTAssertEqual(sink.values(point: 12), [-80])
        XCTAssertEqual(sink.values(point: 21), [3550])  // the repeat delivered nothing
        XCTAssertEqual(sink.values(point: 22), [-87])
        XCTAssertTrue(sink.readings.allSatisfy { $0.quality == .good })

        let status = bus.status()
        XCTAssertEqual(status.name, "parking-row-a")
        XCTAssertEqual(status.type, "serial-line")
        XCTAssertTrue(status.connected)
        XCTAssertEqual(status.counters["frames_ok"], 5)
        XCTAssertEqual(status.counters["bad_checksum"], 1)
        XCTAssertEqual(status.counters["malformed"], 1)
        XCTAssertEqual(status.counters["garbage_bytes"], 7)
        XCTAssertEqual(status.counters["lost_frames"], 3)
        XCTAssertEqual(status.counters["unknown_bay_frames"], 1)
        XCTAssertEqual(status.counters["duplicate_frames"], 1)
        XCTAssertEqual(status.counters["reopens"], 0)

        let a = try XCTUnwrap(status.devices.first { $0.id == "bay-a-017" })
        XCTAssertEqual(a.pollsOK, 2)
        XCTAssertEqual(a.pollsFailed, 1)
        XCTAssertEqual(a.state, .ok)
        XCTAssertNotNil(a.lastGoodPollMilliseconds)
        let b = try XCTUnwrap(status.devices.first { $0.id == "bay-a-018" })
        XCTAssertEqual(b.pollsOK, 1)
        XCTAssertEqual(b.pollsFailed, 0)
    }

    func testDebounceIgnoresAFlapAndReportsAStableChangeOnce() throws {
        let line = try TestSerialLine()
        let sink = CollectingSink()
        let bus = makeBus(line, sink: sink, debounce: .milliseconds(150))
        startConnected(bus)
        defer { bus.stop() }

        line.send(stateFrame("A-017", .free, counter: 1).encoded)
        waitUntil("the first state is confirmed") { sink.events(point: 10).count == 1 }

        // A car manoeuvring: occupied and free again in one burst, well inside the debounce.
        line.send(stateFrame("A-017", .occupied, counter: 2).encoded + stateFrame("A-017", .free, counter: 3).encoded)
        // Then it parks, and the detector repeats its state.
        line.send(stateFrame("A-017", .occupied, counter: 4).encoded)
        waitUntil("the parked state is confirmed") { sink.events(point: 10).count >= 2 }
        line.send(stateFrame("A-017", .occupied, counter: 5).encoded + stateFrame("A-017", .occupied, counter: 6).encoded)
        // It leaves: the next event must be `free`, with nothing from the flap or the repeats in between.
        line.send(stateFrame("A-017", .free, counter: 7).encoded)
        waitUntil("the bay is free again") { sink.events(point: 10).count >= 3 }

        XCTAssertEqual(sink.events(point: 10).map(\.state), ["free", "occupied", "free"])
        XCTAssertEqual(sink.events(point: 10).map(\.value), [0, 1, 0])
        XCTAssertEqual(bus.status().counters["frames_ok"], 7)
        XCTAssertEqual(bus.status().counters["lost_frames"], 0)
    }

    func testHeartbeatTimeoutYieldsAFaultAndTheBayReturns() throws {
        let line = try TestSerialLine()
        let sink = CollectingSink()
        let bus = makeBus(line, sink: sink, debounce: .milliseconds(100), heartbeat: .seconds(1))
        startConnected(bus)
        defer { bus.stop() }

        line.send(stateFrame("A-017", .occupied, counter: 1).encoded)
        // A-018 never speaks; A-017 speaks once and falls silent.
        waitUntil("both bays are reported lost") {
            sink.events(point: 10).contains { $0.quality == .commError } && sink.events(point: 20).contains { $0.quality == .commError }
        }
        let silent = sink.events(point: 20)
        XCTAssertEqual(silent.count, 1)
        XCTAssertEqual(silent.first?.state, "fault")
        XCTAssertNil(silent.first?.value)
        let status = bus.status()
        XCTAssertEqual(status.devices.first { $0.id == "bay-a-018" }?.state, .failing)
        XCTAssertTrue(status.devices.first { $0.id == "bay-a-018" }?.lastError?.contains("heartbeat timeout") ?? false)

        line.send(heartbeatFrame("A-017", counter: 2).encoded)
        waitUntil("A-017 is back") { sink.events(point: 10).count == 3 }
        XCTAssertEqual(sink.events(point: 10).map(\.state), ["occupied", "fault", "occupied"])
        XCTAssertEqual(sink.events(point: 10).map(\.quality), [.good, .commError, .good])
        XCTAssertEqual(bus.status().devices.first { $0.id == "bay-a-017" }?.state, .ok)
    }

    func testPortVanishingAndReturningAtTheSamePathIsReopened() throws {
        let line = try TestSerialLine()
        let sink = CollectingSink()
        let bus = makeBus(line, sink: sink)
        startConnected(bus)
        defer { bus.stop() }

        line.send(heartbeatFrame("A-017", battery: 3601, counter: 1).encoded)
        waitUntil("the first reading arrives") { sink.values(point: 11) == [3601] }

        line.unplug()
        waitUntil("the bus notices the port is gone") { !bus.status().connected }
        // It keeps trying while the path is missing.
        waitUntil("a reopen attempt has failed") { (bus.status().counters["open_failures"] ?? 0) >= 1 }

        try line.plugIn()
        waitUntil("the bus reopens the port") { bus.status().connected && bus.status().counters["reopens"] == 1 }
        line.send(heartbeatFrame("A-017", battery: 3602, counter: 2).encoded)
        waitUntil("frames flow again") { sink.values(point: 11) == [3601, 3602] }
        XCTAssertEqual(bus.status().counters["lost_frames"], 0)
    }

    func testStopJoinsTheThreadAndLeavesThePortClosed() throws {
        let line = try TestSerialLine()
        let bus = makeBus(line, sink: CollectingSink())
        startConnected(bus)
        bus.stop()
        XCTAssertFalse(bus.status().connected)
        // The port is free again: another program (here the test) may take it.
        XCTAssertNoThrow(try SerialPort(path: line.link, settings: .init()))
        bus.stop()  // a second stop is harmless
    }

    func testAStoppedBusIsFreed() throws {
        let line = try TestSerialLine()
        weak var weakBus: ParkingLineBus?
        do {
            let bus = makeBus(line, sink: CollectingSink())
            weakBus = bus
            startConnected(bus)
            bus.stop()
        }
        XCTAssertNil(weakBus)
    }

    func testAMissingPortAtStartIsRetriedUntilItAppears() throws {
        let line = try TestSerialLine()
        line.unplug()
        let sink = CollectingSink()
        let bus = makeBus(line, sink: sink)
        bus.start()
        defer { bus.stop() }
        waitUntil("a failed open is counted") { (bus.status().counters["open_failures"] ?? 0) >= 1 }
        XCTAssertFalse(bus.status().connected)
        try line.plugIn()
        waitUntil("the port is opened") { bus.status().connected }
        line.send(stateFrame("A-018", .occupied, counter: 1).encoded)
        waitUntil("the reading arrives") { sink.values(point: 21) == [3600] }
        XCTAssertEqual(bus.status().counters["reopens"], 0)
    }

    func testANoisyLineIsLoggedOnceThenSummarised() throws {
        let line = try TestSerialLine()
        let sink = CollectingSink()
        let log = CapturingLogHandler.Lines()
        let bus = makeBus(line, sink: sink, log: log, summaryInterval: .seconds(1))
        startConnected(bus)
        defer { bus.stop() }

        var stream = ""
        for counter in 1...30 {
            stream += "\u{1B}~" + withBadChecksum(stateFrame("A-017", .free, counter: UInt16(counter)))
            stream += heartbeatFrame("Z-999", counter: UInt16(counter)).encoded
        }
        stream += heartbeatFrame("A-017", counter: 100).encoded
        line.send(stream)
        waitUntil("everything is parsed") { bus.status().counters["frames_ok"] == 31 }
        XCTAssertEqual(bus.status().counters["bad_checksum"], 30)
        XCTAssertEqual(log.count(containing: "bad checksum in a frame from bay A-017"), 1)
        XCTAssertEqual(log.count(containing: "bytes outside any frame"), 1)
        XCTAssertEqual(log.count(containing: "bay Z-999, which no [[device]] names"), 1)
        waitUntil("a summary follows") { log.count(containing: "bad checksums") >= 1 }
        let summary = log.all.first { $0.text.contains("bad checksums") }!
        XCTAssertEqual(summary.level, .warning)
        XCTAssertTrue(summary.text.contains("garbage bytes"), summary.text)
        XCTAssertTrue(summary.text.contains("frames from unknown bays"), summary.text)
        // Nothing per frame above debug: a noisy line must not flood the journal.
        XCTAssertLessThan(log.all.filter { $0.level >= .info }.count, 10)
    }
}
