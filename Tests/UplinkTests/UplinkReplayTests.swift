import BufferStore
import Foundation
import GatewayModel
import GatewayTestSupport
import Logging
import Uplink
import XCTest

/// The store seen from the uplink, as the daemon wires it.
final class StoreLedger: UplinkBacklog, UplinkLedger, @unchecked Sendable {
    let reader: BufferReader
    let store: BufferStore
    init(reader: BufferReader, store: BufferStore) { self.reader = reader; self.store = store }
    func pendingRecords(afterSeq: UInt64, throughSeq: UInt64, limit: Int) throws -> [StoredRecord] {
        try reader.pendingRecords(afterSeq: afterSeq, throughSeq: throughSeq, limit: limit)
    }
    func records(from: UInt64, to: UInt64, limit: Int) throws -> [StoredRecord] { try reader.records(from: from, to: to, limit: limit) }
    func unannouncedGaps() throws -> [StoredGap] { try reader.unannouncedGaps() }
    func lastSeq() throws -> UInt64 { try reader.lastSeq() }
    func markDelivered(_ seqs: [UInt64]) { store.markDelivered(seqs) }
    func markGapsAnnounced(_ ids: [Int64]) { store.markGapsAnnounced(ids) }
}

/// Hands committed records to the uplink, as the daemon's router does.
final class UplinkFeed: CommitObserver, @unchecked Sendable {
    var uplink: Uplink?
    func didCommit(_ records: [StoredRecord]) { uplink?.offer(records) }
    func didRecordGap(_ gap: StoredGap) { uplink?.gapsChanged() }
}

final class UplinkReplayTests: XCTestCase {
    let logger = Logger(label: "test")
    let backlogSize = 6000

    /// A buffer with `backlogSize` unsent readings, an uplink to a real broker, then live readings.
    func run(replay: ReplayOrder) throws -> (messages: [TopicRecorder.Message], store: BufferStore) {
        let broker = try MosquittoBroker()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw/#")
        let dir = TestPaths.temporaryDirectory("uplink")
        let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: .init(), logger: logger)
        let catalog = try store.registerPoints([
            PointRegistration(device: "old", deviceKind: .waterMeter, point: "flow", unit: "m3/h"),
            PointRegistration(device: "new", deviceKind: .pressureSensor, point: "p", unit: "bar"),
        ])
        let feed = UplinkFeed()
        store.start(observer: feed)
        let old = catalog.id(device: "old", point: "flow")!
        store.submit(readings: (0..<backlogSize).map { Reading(pointID: old, timestampMilliseconds: 1_795_000_000_000 + Int64($0), value: Double($0), quality: .good) })
        store.flushAndWait()

        let settings = UplinkSettings(broker: BrokerAddress(url: broker.url)!, topicPrefix: "t", clientID: "gw",
                                      batchMaxReadings: 100, batchMaxDelay: .milliseconds(100), replay: replay,
                                      replayRateReadingsPerSecond: 2000)
        let ledger = StoreLedger(reader: try BufferReader(path: dir + "/buffer.sqlite"), store: store)
        let uplink = Uplink(settings: settings, gatewayID: "gw", storeID: store.storeID, version: "test", catalog: catalog,
                            backlog: ledger, ledger: ledger, initialBacklogThrough: store.statistics().lastSeq, logger: logger)
        feed.uplink = uplink
        try uplink.start()
        // Live readings while the backlog drains (2000/s: about three seconds of backlog).
        let new = catalog.id(device: "new", point: "p")!
        for i in 0..<10 {
            store.submit(readings: [Reading(pointID: new, timestampMilliseconds: 1_796_000_000_000 + Int64(i), value: 4, quality: .good)])
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertTrue(sub.waitUntil(timeout: 30) { Set($0.readings.map(\.seq)).count == self.backlogSize + 10 },
                      "not everything arrived: \(sub.readings.count)")
        uplink.stop()
        store.flushAndWait()
        return (sub.messages, store)
    }

    func testLiveFirstSendsNewReadingsBeforeTheBacklogHasDrained() throws {
        let (messages, store) = try run(replay: .liveFirst)
        let data = messages.filter { $0.topic.contains("/data/") }
        let firstLive = try XCTUnwrap(data.firstIndex { $0.topic.hasSuffix("/new") })
        let lastBacklog = try XCTUnwrap(data.lastIndex { $0.topic.hasSuffix("/old") })
        XCTAssertLessThan(firstLive, lastBacklog, "live data waited for the whole backlog")
        XCTAssertTrue(data.filter { $0.topic.hasSuffix("/old") }.allSatisfy { $0.payload.contains("\"historical\":true") })
        XCTAssertTrue(data.filter { $0.topic.hasSuffix("/new") }.allSatisfy { $0.payload.contains("\"historical\":false") })
        store.stop()
    }

    func testFifoSendsEverythingInSeqOrder() throws {
        let (messages, store) = try run(replay: .fifo)
        let data = messages.filter { $0.topic.contains("/data/") }
        let firstLive = try XCTUnwrap(data.firstIndex { $0.topic.hasSuffix("/new") })
        let lastBacklog = try XCTUnwrap(data.lastIndex { $0.topic.hasSuffix("/old") })
        XCTAssertGreaterThan(firstLive, lastBacklog, "fifo sent new readings before the backlog")
        store.stop()
    }

    func testAcknowledgedRecordsAreMarkedSentAndBatchesKeepTheirShape() throws {
        let (messages, store) = try run(replay: .liveFirst)
        store.stop()
        let stats = try BufferReader(path: store.path).stats()
        XCTAssertEqual(stats.pendingRecords, 0, "every acknowledged record is marked sent")
        let batch = try XCTUnwrap(messages.first { $0.topic == "t/gw/data/old" })
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(batch.payload.utf8)) as? [String: Any])
        XCTAssertEqual(Set(o.keys), ["gateway", "device", "kind", "store", "historical", "readings"])
        XCTAssertEqual(o["kind"] as? String, "water_meter")
        let r = try XCTUnwrap((o["readings"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(r.keys), ["seq", "ts", "point", "value", "unit", "quality"])
        XCTAssertEqual(r["unit"] as? String, "m3/h")
        XCTAssertLessThanOrEqual((o["readings"] as? [Any])?.count ?? 0, 100)
    }
}

final class UplinkOutageTests: XCTestCase {
    /// Messages published but never acknowledged when the connection dies are sent again after
    /// the reconnect, even when no new reading arrives in between.
    func testInFlightMessagesAreResentAfterReconnectWithoutNewReadings() throws {
        let logger = Logger(label: "test")
        let broker = try MosquittoBroker()
        let dir = TestPaths.temporaryDirectory("inflight")
        let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: .init(), logger: logger)
        let catalog = try store.registerPoints([PointRegistration(device: "d", deviceKind: .generic, point: "p", unit: "")])
        let feed = UplinkFeed()
        store.start(observer: feed)
        defer { store.stop() }
        let settings = UplinkSettings(broker: BrokerAddress(url: broker.url)!, topicPrefix: "t", clientID: "gw",
                                      batchMaxReadings: 10, batchMaxDelay: .milliseconds(50), keepAlive: .seconds(5),
                                      reconnectMinDelay: .seconds(1), reconnectMaxDelay: .seconds(1))
        let ledger = StoreLedger(reader: try BufferReader(path: dir + "/buffer.sqlite"), store: store)
        let uplink = Uplink(settings: settings, gatewayID: "gw", storeID: store.storeID, version: "test", catalog: catalog,
                            backlog: ledger, ledger: ledger, initialBacklogThrough: 0, logger: logger)
        feed.uplink = uplink
        try uplink.start()
        defer { uplink.stop(drainTimeout: .zero) }
        XCTAssertTrue(TestPaths.waitUntil(timeout: 10) { uplink.status().connected })

        broker.freeze()
        Thread.sleep(forTimeInterval: 0.2)
        let p = catalog.id(device: "d", point: "p")!
        store.submit(readings: (0..<50).map { Reading(pointID: p, timestampMilliseconds: 1_795_000_000_000 + Int64($0), value: 1, quality: .good) })
        store.flushAndWait()
        XCTAssertTrue(TestPaths.waitUntil(timeout: 10) { uplink.status().messagesInFlight >= 5 }, "nothing went in flight")
        XCTAssertEqual(uplink.status().recordsAcknowledged, 0, "the frozen broker acknowledged something")
        broker.kill()
        XCTAssertTrue(TestPaths.waitUntil(timeout: 15) { uplink.status().reconnects >= 1 }, "the lost connection went unnoticed")
        try broker.start()
        // Acknowledged by the new broker means published again: nothing stays pending.
        let reader = try BufferReader(path: dir + "/buffer.sqlite")
        XCTAssertTrue(TestPaths.waitUntil(timeout: 20) { ((try? reader.stats().pendingRecords) ?? -1) == 0 },
                      "in-flight readings were not sent again: \((try? reader.stats().pendingRecords) ?? -1) of 50 still pending")
    }
}

final class UplinkAttachTests: XCTestCase {
    /// Records committed before the uplink was attached to the store's output reach no live path;
    /// takeBacklog hands them to the backlog so they are sent without a reconnect.
    func testRecordsCommittedBeforeAttachingAreSentThroughTheBacklog() throws {
        let logger = Logger(label: "test")
        let broker = try MosquittoBroker()
        let dir = TestPaths.temporaryDirectory("attach")
        let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: .init(), logger: logger)
        let catalog = try store.registerPoints([PointRegistration(device: "d", deviceKind: .generic, point: "p", unit: "")])
        let feed = UplinkFeed()
        store.start(observer: feed)
        defer { store.stop() }
        let p = catalog.id(device: "d", point: "p")!
        store.submit(readings: (0..<20).map { Reading(pointID: p, timestampMilliseconds: 1_795_000_000_000 + Int64($0), value: 1, quality: .good) })
        store.flushAndWait()
        // The uplink believes the backlog ends at 10: 11…20 were committed while it was being set up.
        let settings = UplinkSettings(broker: BrokerAddress(url: broker.url)!, topicPrefix: "t", clientID: "gw")
        let ledger = StoreLedger(reader: try BufferReader(path: dir + "/buffer.sqlite"), store: store)
        let uplink = Uplink(settings: settings, gatewayID: "gw", storeID: store.storeID, version: "test", catalog: catalog,
                            backlog: ledger, ledger: ledger, initialBacklogThrough: 10, logger: logger)
        feed.uplink = uplink
        try uplink.start()
        defer { uplink.stop(drainTimeout: .zero) }
        uplink.takeBacklog(through: store.statistics().lastSeq)
        let reader = try BufferReader(path: dir + "/buffer.sqlite")
        XCTAssertTrue(TestPaths.waitUntil(timeout: 15) { ((try? reader.stats().pendingRecords) ?? -1) == 0 },
                      "records committed before the uplink was attached stayed pending")
    }
}
