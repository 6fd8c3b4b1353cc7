import XCTest
@testable import Drivers
import GatewayModel

/// The per-bay logic on explicit times: counters, debounce, heartbeat.
final class ParkingBayTrackerTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000
    private let wallStart: Int64 = 1_795_305_600_000

    private func tracker(debounce: Duration = .seconds(2), heartbeat: Duration = .seconds(60)) -> ParkingBayTracker {
        ParkingBayTracker(bay: "A-017", deviceID: "bay-a-017", pointIDs: [10, 11, 12], debounce: debounce,
                          heartbeatTimeout: heartbeat, startMonotonic: 0)
    }

    /// Accepts a frame at `seconds` after start; returns the event it caused at once.
    private func feed(_ t: inout ParkingBayTracker, _ frame: ParkingFrame, at seconds: Double) -> DeviceEvent? {
        t.accept(frame, monotonic: UInt64(seconds * 1e9), wall: wallStart + Int64(seconds * 1000), quality: .good).event
    }

    private func tick(_ t: inout ParkingBayTracker, at seconds: Double) -> DeviceEvent? {
        t.tick(monotonic: UInt64(seconds * 1e9), wall: wallStart + Int64(seconds * 1000))
    }

    func testCounterVerdicts() {
        XCTAssertEqual(ParkingBayTracker.classify(counter: 5, after: nil), .inSequence)
        XCTAssertEqual(ParkingBayTracker.classify(counter: 6, after: 5), .inSequence)
        XCTAssertEqual(ParkingBayTracker.classify(counter: 5, after: 5), .duplicate)
        XCTAssertEqual(ParkingBayTracker.classify(counter: 9, after: 5), .lost(3))
        XCTAssertEqual(ParkingBayTracker.classify(counter: 0, after: 65535), .inSequence)
        XCTAssertEqual(ParkingBayTracker.classify(counter: 1, after: 65534), .lost(2))
        XCTAssertEqual(ParkingBayTracker.classify(counter: 0, after: 500), .restarted)
    }

    func testReadingsForStateAndHeartbeatFrames() {
        var t = tracker()
        let state = t.accept(stateFrame("A-017", .free, battery: 3600, counter: 1), monotonic: 0, wall: wallStart, quality: .good)
        XCTAssertEqual(state.readings, [Reading(pointID: 11, timestampMilliseconds: wallStart, value: 3600, quality: .good)])
        let beat = t.accept(heartbeatFrame("A-017", battery: 3590, rssi: -91, counter: 2), monotonic: second,
                            wall: wallStart + 1000, quality: .clockUnsynced)
        XCTAssertEqual(beat.readings, [
            Reading(pointID: 11, timestampMilliseconds: wallStart + 1000, value: 3590, quality: .clockUnsynced),
            Reading(pointID: 12, timestampMilliseconds: wallStart + 1000, value: -91, quality: .clockUnsynced),
        ])
        let duplicate = t.accept(heartbeatFrame("A-017", counter: 2), monotonic: 2 * second, wall: wallStart + 2000, quality: .good)
        XCTAssertEqual(duplicate.verdict, .duplicate)
        XCTAssertEqual(duplicate.readings, [])
        XCTAssertEqual(t.duplicateFrames, 1)
        XCTAssertEqual(t.framesAccepted, 2)
        _ = t.accept(heartbeatFrame("A-017", counter: 10), monotonic: 3 * second, wall: wallStart + 3000, quality: .good)
        XCTAssertEqual(t.lostFrames, 7)
    }

    func testFlapShorterThanDebounceIsNoEventAndAStableChangeIsExactlyOne() {
        var t = tracker(debounce: .seconds(2))
        XCTAssertNil(feed(&t, stateFrame("A-017", .free, counter: 1), at: 0))
        XCTAssertNil(tick(&t, at: 1.9))
        XCTAssertEqual(tick(&t, at: 2), DeviceEvent(pointID: 10, timestampMilliseconds: wallStart, state: "free", value: 0))
        XCTAssertNil(tick(&t, at: 3))

        // A car manoeuvring: occupied for half a second, then free again.
        XCTAssertNil(feed(&t, stateFrame("A-017", .occupied, counter: 2), at: 5))
        XCTAssertNil(feed(&t, stateFrame("A-017", .free, counter: 3), at: 5.5))
        XCTAssertNil(tick(&t, at: 8))
        XCTAssertNil(tick(&t, at: 20))

        // Parks: repeated frames do not restart the debounce; the event carries the first frame's time.
        XCTAssertNil(feed(&t, stateFrame("A-017", .occupied, counter: 4), at: 30))
        XCTAssertNil(feed(&t, stateFrame("A-017", .occupied, counter: 5), at: 31))
        XCTAssertEqual(t.nextDeadline, 32 * second)
        XCTAssertEqual(tick(&t, at: 32),
                       DeviceEvent(pointID: 10, timestampMilliseconds: wallStart + 30_000, state: "occupied", value: 1))
        XCTAssertNil(feed(&t, stateFrame("A-017", .occupied, counter: 6), at: 40))
        XCTAssertNil(tick(&t, at: 45))
        XCTAssertEqual(t.publishedState, .occupied)
    }

    func testDetectorFaultIsAnEventWithDeviceFaultQuality() {
        var t = tracker(debounce: .zero)
        let event = feed(&t, stateFrame("A-017", .fault, counter: 1), at: 0)
        XCTAssertEqual(event, DeviceEvent(pointID: 10, timestampMilliseconds: wallStart, state: "fault", value: 2, quality: .deviceFault))
    }

    func testHeartbeatTimeoutFaultsOnceAndTheBayReturnsOnTheNextFrame() {
        var t = tracker(debounce: .seconds(1), heartbeat: .seconds(10))
        XCTAssertNil(feed(&t, stateFrame("A-017", .occupied, counter: 1), at: 0))
        XCTAssertEqual(tick(&t, at: 1)?.state, "occupied")
        XCTAssertNil(tick(&t, at: 9.9))
        let fault = tick(&t, at: 10)
        XCTAssertEqual(fault, DeviceEvent(pointID: 10, timestampMilliseconds: wallStart + 10_000, state: "fault",
                                          value: nil, quality: .commError))
        XCTAssertEqual(t.status.state, .failing)
        XCTAssertTrue(t.status.lastError?.contains("heartbeat timeout") ?? false)
        XCTAssertNil(tick(&t, at: 20))
        XCTAssertNil(tick(&t, at: 300))
        XCTAssertNil(t.nextDeadline)

        // Back: a heartbeat republishes the last known state at once.
        let back = feed(&t, heartbeatFrame("A-017", counter: 2), at: 400)
        XCTAssertEqual(back, DeviceEvent(pointID: 10, timestampMilliseconds: wallStart + 400_000, state: "occupied", value: 1))
        XCTAssertEqual(t.status.state, .ok)
        XCTAssertNil(t.status.lastError)

        // Lost again; this time it comes back reporting another state, which is debounced as usual.
        XCTAssertEqual(tick(&t, at: 410)?.quality, .commError)
        XCTAssertNil(feed(&t, stateFrame("A-017", .free, counter: 3), at: 500))
        XCTAssertEqual(tick(&t, at: 501)?.state, "free")
    }

    func testABayNeverHeardFromFaultsAfterTheTimeout() {
        var t = tracker(heartbeat: .seconds(10))
        XCTAssertEqual(t.status.state, .unknown)
        XCTAssertNil(tick(&t, at: 5))
        XCTAssertEqual(tick(&t, at: 10)?.quality, .commError)
        XCTAssertNil(tick(&t, at: 11))
    }

    func testSilenceIsTimedFromWhenTheBusThreadStarts() {
        var t = tracker(heartbeat: .seconds(10))
        t.startSupervision(monotonic: 100 * second)
        XCTAssertNil(tick(&t, at: 105))
        XCTAssertEqual(tick(&t, at: 110)?.quality, .commError)
    }

    func testRejectedFramesShowInTheDeviceStatus() {
        var t = tracker()
        _ = feed(&t, heartbeatFrame("A-017", counter: 1), at: 0)
        t.reject(.badChecksum)
        t.reject(.malformed)
        var s = t.status
        XCTAssertEqual(s.id, "bay-a-017")
        XCTAssertEqual(s.pollsOK, 1)
        XCTAssertEqual(s.pollsFailed, 2)
        XCTAssertEqual(s.consecutiveFailures, 2)
        XCTAssertEqual(s.state, .failing)
        XCTAssertEqual(s.lastGoodPollMilliseconds, wallStart)
        _ = feed(&t, heartbeatFrame("A-017", counter: 2), at: 1)
        s = t.status
        XCTAssertEqual(s.consecutiveFailures, 0)
        XCTAssertEqual(s.state, .ok)
    }
}
