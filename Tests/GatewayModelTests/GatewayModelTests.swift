import Foundation
import GatewayModel
import XCTest

final class BoundedQueueTests: XCTestCase {
    func testFIFOAndCapacityBlocksTheProducerUntilThereIsRoom() {
        let q = BoundedQueue<Int>(capacity: 2)
        XCTAssertTrue(q.put(1))
        XCTAssertTrue(q.offer(2))
        XCTAssertFalse(q.offer(3), "offer never waits and never drops silently: it refuses")
        let producerDone = expectation(description: "the blocked producer got in")
        DispatchQueue.global().async {
            XCTAssertTrue(q.put(3))  // blocks until the consumer takes one
            producerDone.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(q.depth, 2)
        XCTAssertEqual(q.take(max: 1), [1])
        wait(for: [producerDone], timeout: 5)
        XCTAssertEqual(q.drain(), [2, 3])
    }

    func testTheRingGrowsToItsCapacityKeepingOrderAcrossTheWrap() {
        // The ring starts small and doubles; the head sits mid-ring when it grows.
        let capacity = 40 * BoundedQueue<Int>.initialRing + 7
        let q = BoundedQueue<Int>(capacity: capacity)
        var next = 0, expected = 0
        for _ in 0..<100 { XCTAssertTrue(q.offer(next)); next += 1 }
        for value in q.take(max: 60) { XCTAssertEqual(value, expected); expected += 1 }
        while q.offer(next) { next += 1 }
        XCTAssertEqual(q.depth, capacity, "the full capacity is usable, not just the first ring")
        XCTAssertFalse(q.offer(next), "full means refused, never dropped")
        for value in q.drain() { XCTAssertEqual(value, expected); expected += 1 }
        XCTAssertEqual(expected, next, "every element came out once, in order")
        // Drained after a stall, it gives the memory back and still works.
        for i in 0..<1000 { XCTAssertTrue(q.offer(i)) }
        XCTAssertEqual(q.drain(), Array(0..<1000))
    }

    func testCloseRefusesNewWorkAndLetsTheRestBeTaken() {
        let q = BoundedQueue<Int>(capacity: 4)
        q.put(1)
        q.close()
        XCTAssertFalse(q.put(2))
        XCTAssertEqual(q.take(max: 10), [1])
        XCTAssertEqual(q.take(max: 10), [], "a closed, empty queue returns at once")
    }

    func testTakeTimesOutOnTheMonotonicDeadline() {
        let q = BoundedQueue<Int>(capacity: 1)
        XCTAssertEqual(q.take(max: 1, untilMonotonicNanoseconds: SystemClock.monotonicNow() + 50_000_000), [])
    }

    /// A wake-up that arrives while nobody waits is kept for the next take (the store writer
    /// relies on it: acknowledgements arriving during a commit must not wait for the next timeout).
    func testAWakeUpIsNotLostWhenNobodyWaits() {
        let q = BoundedQueue<Int>(capacity: 1)
        q.wake()
        let started = SystemClock.monotonicNow()
        XCTAssertEqual(q.take(max: 1, untilMonotonicNanoseconds: started + 5_000_000_000), [])
        XCTAssertLessThan(SystemClock.monotonicNow() - started, 4_000_000_000, "the pending wake-up was lost")
    }

    /// A consumer gathering a batch (the store writer filling a commit group) is woken by
    /// the element that completes it, not by each one before (one futex call per poll saved).
    func testAGatheringTakeWakesWhenTheBatchIsComplete() {
        let q = BoundedQueue<Int>(capacity: 16)
        let producer = Thread {
            for i in 1...5 {
                q.put(i)
                q.wake()  // acknowledgements and alarms: they ride with the group
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        producer.start()
        let got = q.take(max: 1, untilMonotonicNanoseconds: SystemClock.monotonicNow() + 30_000_000_000, gathering: 5)
        XCTAssertEqual(got, [1])
        XCTAssertEqual(q.depth, 4, "woken before the fifth element arrived")
    }

    /// A barrier someone waits on (`put(urgent: true)`) ends the gathering at once.
    func testAnUrgentElementEndsTheGathering() {
        let q = BoundedQueue<Int>(capacity: 16)
        q.put(1)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { q.put(99, urgent: true) }
        let started = SystemClock.monotonicNow()
        XCTAssertEqual(q.take(max: 10, untilMonotonicNanoseconds: started + 30_000_000_000, gathering: 10), [1, 99])
        XCTAssertLessThan(SystemClock.monotonicNow() - started, 20_000_000_000, "the urgent element did not wake the consumer")
    }

    /// The deadline closes a batch that never fills, with what arrived; closing the queue does too.
    func testAGatheringTakeEndsAtTheDeadlineOrClose() {
        let q = BoundedQueue<Int>(capacity: 16)
        q.put(1)
        XCTAssertEqual(q.take(max: 10, untilMonotonicNanoseconds: SystemClock.monotonicNow() + 50_000_000, gathering: 10), [1])
        q.put(2)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { q.close() }
        XCTAssertEqual(q.take(max: 10, untilMonotonicNanoseconds: SystemClock.monotonicNow() + 30_000_000_000, gathering: 10), [2])
    }

    /// A full queue always wakes the consumer, whatever it gathers for: producers block on it.
    func testAFullQueueWakesAGatheringConsumer() {
        let q = BoundedQueue<Int>(capacity: 3)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { for i in 1...3 { q.put(i) } }
        XCTAssertEqual(q.take(max: 10, untilMonotonicNanoseconds: SystemClock.monotonicNow() + 30_000_000_000, gathering: 100), [1, 2, 3])
    }
}

final class ConfigUnitsTests: XCTestCase {
    func testDurations() {
        XCTAssertEqual(ConfigUnits.duration("500ms"), .milliseconds(500))
        XCTAssertEqual(ConfigUnits.duration("10s"), .seconds(10))
        XCTAssertEqual(ConfigUnits.duration("5m"), .seconds(300))
        XCTAssertEqual(ConfigUnits.duration("1.5s"), .milliseconds(1500))
        XCTAssertEqual(ConfigUnits.duration("30d"), .seconds(30 * 86_400))
        XCTAssertNil(ConfigUnits.duration("10"), "a bare number has no unit")
        XCTAssertNil(ConfigUnits.duration("-1s"))
        XCTAssertNil(ConfigUnits.duration("ten seconds"))
        XCTAssertEqual(ConfigUnits.text(.milliseconds(1500)), "1500ms")
        XCTAssertEqual(ConfigUnits.text(.seconds(300)), "5m")
    }

    func testSizes() {
        XCTAssertEqual(ConfigUnits.size("512MB"), 512_000_000)
        XCTAssertEqual(ConfigUnits.size("1GiB"), 1_073_741_824)
        XCTAssertEqual(ConfigUnits.size("64KiB"), 65_536)
        XCTAssertEqual(ConfigUnits.size("1000"), 1000)
        XCTAssertNil(ConfigUnits.size("big"))
    }
}

final class BrokerAddressTests: XCTestCase {
    func testURLs() {
        XCTAssertEqual(BrokerAddress(url: "mqtt://broker.example.net"), BrokerAddress(tls: false, host: "broker.example.net", port: 1883))
        XCTAssertEqual(BrokerAddress(url: "mqtts://broker.example.net"), BrokerAddress(tls: true, host: "broker.example.net", port: 8883))
        XCTAssertEqual(BrokerAddress(url: "mqtt://127.0.0.1:18830"), BrokerAddress(tls: false, host: "127.0.0.1", port: 18830))
        XCTAssertEqual(BrokerAddress(url: "mqtts://[::1]:8884"), BrokerAddress(tls: true, host: "::1", port: 8884))
        XCTAssertEqual(BrokerAddress(url: "mqtts://[::1]:8884")?.url, "mqtts://[::1]:8884")
        for bad in ["http://x", "mqtt://", "mqtt://host:0", "mqtt://host:99999", "mqtt://user@host", "mqtt://host/path"] {
            XCTAssertNil(BrokerAddress(url: bad), bad)
        }
    }
}

final class StreamAuditTests: XCTestCase {
    func testMissingIsWhatNeitherArrivedNorWasAnnounced() {
        var a = StreamAudit()
        for s: UInt64 in [1, 2, 3, 7, 8, 8, 12] { a.received(store: "s1", seq: s) }
        a.announced(store: "s1", from: 4, to: 5, reason: "retention")
        let r = a.report(store: "s1")
        XCTAssertEqual(r.missing, [6...6, 9...11])
        XCTAssertEqual(r.missingCount, 4)
        XCTAssertEqual(r.duplicates, 1)
        XCTAssertEqual(r.received, 6)
        XCTAssertEqual(a.announcedSeqs(store: "s1"), [4, 5])
        XCTAssertEqual(a.report(store: "other").missing, [], "stores are separate")
    }

    func testJoiningLateStartsTheExpectationThere() {
        var a = StreamAudit(expectedFirstSeq: 100)
        for s: UInt64 in 100...110 { a.received(store: "s", seq: s) }
        XCTAssertEqual(a.report(store: "s").missing, [])
    }
}

final class ModelValuesTests: XCTestCase {
    func testJSONTextQuotesEverythingAStringCanHold() throws {
        let tricky = "a \"quoted\" \\ back\nslash\t\u{01} é"
        let json = "{\"v\":\(JSONText.quote(tricky))}"
        let decoded = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String]
        XCTAssertEqual(decoded?["v"], tricky)
        XCTAssertEqual(JSONText.number(12.5), "12.5")
        XCTAssertEqual(JSONText.number(3), "3")
        XCTAssertEqual(JSONText.number(.nan), "null")
        XCTAssertEqual(JSONText.number(nil), "null")
    }

    func testPointCatalogLooksUpBothWays() {
        let c = PointCatalog([PointDescriptor(id: 3, device: "m", deviceKind: .waterMeter, point: "flow", unit: "m3/h"),
                              PointDescriptor(id: 1, device: "m", deviceKind: .waterMeter, point: "volume", unit: "m3")])
        XCTAssertEqual(c[3]?.point, "flow")
        XCTAssertNil(c[2])
        XCTAssertNil(c[99])
        XCTAssertEqual(c.id(device: "m", point: "volume"), 1)
        XCTAssertNil(c.id(device: "m", point: "nope"))
        XCTAssertEqual(c.descriptors.map(\.id), [1, 3])
    }

    func testQualityNamesAreTheContractsWords() {
        XCTAssertEqual(Quality.allCases.map(\.name), ["good", "comm_error", "clock_unsynced", "device_fault"])
        XCTAssertEqual(Quality(name: "comm_error"), .commError)
    }
}
