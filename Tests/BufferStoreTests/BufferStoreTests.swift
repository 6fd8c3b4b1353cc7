import BufferStore
import Foundation
import GatewayModel
import GatewayTestSupport
import Logging
import XCTest

/// Collects what the writer hands on after each commit.
final class CollectingObserver: CommitObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var _records: [StoredRecord] = []
    private var _gaps: [StoredGap] = []
    func didCommit(_ records: [StoredRecord]) { lock.lock(); _records += records; lock.unlock() }
    func didRecordGap(_ gap: StoredGap) { lock.lock(); _gaps.append(gap); lock.unlock() }
    var records: [StoredRecord] { lock.lock(); defer { lock.unlock() }; return _records }
    var gaps: [StoredGap] { lock.lock(); defer { lock.unlock() }; return _gaps }
}

/// A wall clock the test moves; monotonic time is real.
final class SteppedClock: GatewayClock, @unchecked Sendable {
    private let lock = NSLock()
    private var wall: Int64
    init(wall: Int64) { self.wall = wall }
    func set(_ ms: Int64) { lock.lock(); wall = ms; lock.unlock() }
    func wallMilliseconds() -> Int64 { lock.lock(); defer { lock.unlock() }; return wall }
    func monotonicNanoseconds() -> UInt64 { SystemClock.monotonicNow() }
    func isWallClockTrusted() -> Bool { wallMilliseconds() > 1_704_067_200_000 }
}

final class BufferStoreTests: XCTestCase {
    let logger = Logger(label: "test")
    let now: Int64 = 1_795_000_000_000

    func openStore(_ dir: String, settings: BufferSettings = .init(), clock: GatewayClock? = nil) throws -> (BufferStore, PointCatalog) {
        let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: settings, clock: clock ?? SteppedClock(wall: now), logger: logger)
        let catalog = try store.registerPoints([
            PointRegistration(device: "meter", deviceKind: .electricityMeter, point: "voltage", unit: "V"),
            PointRegistration(device: "meter", deviceKind: .electricityMeter, point: "current", unit: "A"),
        ])
        return (store, catalog)
    }

    func readings(_ catalog: PointCatalog, count: Int, ts: Int64, quality: Quality = .good) -> [Reading] {
        let v = catalog.id(device: "meter", point: "voltage")!
        return (0..<count).map { Reading(pointID: v, timestampMilliseconds: ts + Int64($0), value: Double($0), quality: quality) }
    }

    func testSeqIsContiguousAcrossGroupsAndRestartsAndStoreIDIsStable() throws {
        let dir = TestPaths.temporaryDirectory("store")
        var (store, catalog) = try openStore(dir)
        let id = store.storeID
        XCTAssertEqual(id.count, 32)
        let observer = CollectingObserver()
        store.start(observer: observer)
        for i in 0..<50 { store.submit(readings: readings(catalog, count: 7, ts: now + Int64(i) * 100)) }
        store.submit(event: DeviceEvent(pointID: catalog.id(device: "meter", point: "current")!, timestampMilliseconds: now, state: "on", value: 1),
                     point: "current")
        store.flushAndWait()
        store.stop()
        XCTAssertEqual(observer.records.map(\.seq), Array(1...351))
        XCTAssertEqual(observer.records.last?.kind, .event)

        (store, catalog) = try openStore(dir)
        XCTAssertEqual(store.storeID, id, "the store id must survive a restart")
        XCTAssertEqual(catalog.id(device: "meter", point: "voltage"), catalog.id(device: "meter", point: "voltage"))
        let observer2 = CollectingObserver()
        store.start(observer: observer2)
        store.submit(readings: readings(catalog, count: 3, ts: now))
        store.flushAndWait()
        store.stop()
        XCTAssertEqual(observer2.records.map(\.seq), [352, 353, 354], "seq continues after a restart, never reused")
    }

    func testDeliveredRecordsAreMarkedSentAndBacklogQueriesSeeTheRest() throws {
        let dir = TestPaths.temporaryDirectory("store")
        let (store, catalog) = try openStore(dir)
        store.start(observer: nil)
        store.submit(readings: readings(catalog, count: 100, ts: now))
        store.flushAndWait()
        // A run (one range update) and scattered seqs.
        store.markDelivered(Array(1...40) + [45, 47, 99])
        store.flushAndWait()
        let reader = try BufferReader(path: dir + "/buffer.sqlite")
        let stats = try reader.stats()
        XCTAssertEqual(stats.sentRecords, 43)
        XCTAssertEqual(stats.pendingRecords, 57)
        XCTAssertEqual(stats.oldestPendingSeq, 41)
        let pending = try reader.pendingRecords(afterSeq: 0, throughSeq: 100, limit: 1000).map(\.seq)
        XCTAssertEqual(pending, (41...100).filter { ![45, 47, 99].contains($0) }.map { UInt64($0) })
        XCTAssertEqual(try reader.pendingRecords(afterSeq: 41, throughSeq: 44, limit: 10).map(\.seq), [42, 43, 44])
        XCTAssertEqual(try reader.records(from: 39, to: 42, limit: 10).map(\.seq), [39, 40, 41, 42], "resend reads sent rows too")
        store.stop()
    }

    func testRetentionEvictsSentFirstThenOldestPendingAsAnnouncedGaps() throws {
        let dir = TestPaths.temporaryDirectory("store")
        let settings = BufferSettings(maxSizeBytes: 400_000)
        let (store, catalog) = try openStore(dir, settings: settings)
        let observer = CollectingObserver()
        store.start(observer: observer)
        // The oldest 2000 are sent before the buffer goes over its bound.
        for i in 0..<4 { store.submit(readings: readings(catalog, count: 500, ts: now + Int64(i) * 1000)) }
        store.flushAndWait()
        store.markDelivered(Array(1...2000))
        store.flushAndWait()
        for i in 4..<40 { store.submit(readings: readings(catalog, count: 500, ts: now + Int64(i) * 1000)) }
        store.flushAndWait()
        // Retention runs on the writer thread every few seconds.
        let watcher = try BufferReader(path: dir + "/buffer.sqlite")
        XCTAssertTrue(TestPaths.waitUntil(timeout: 20) {
            !observer.gaps.isEmpty && ((try? watcher.stats().usedBytes) ?? .max) <= settings.maxSizeBytes
        }, "retention did not bring the buffer under max_size")
        store.stop()
        let reader = try BufferReader(path: dir + "/buffer.sqlite")
        let stats = try reader.stats()
        XCTAssertLessThanOrEqual(stats.usedBytes, settings.maxSizeBytes)
        XCTAssertEqual(stats.sentRecords, 0, "sent rows go first")
        let gaps = observer.gaps.map(\.gap)
        XCTAssertTrue(gaps.allSatisfy { $0.reason == .retention && $0.store == store.storeID })
        XCTAssertEqual(gaps.first?.from, 2001, "the oldest pending go next, starting right after the sent ones")
        let evicted = gaps.reduce(0) { $0 + $1.count }
        XCTAssertEqual(UInt64(stats.pendingRecords) + evicted, 18_000, "every pending record is either held or in a gap")
        XCTAssertEqual(UInt64(stats.gapRecords), evicted, "stats and announcements agree")
        // Held records are exactly the ones after the gaps.
        let held = try reader.pendingRecords(afterSeq: 0, throughSeq: .max, limit: 100_000).map(\.seq)
        XCTAssertEqual(held.first, gaps.map(\.to).max()! + 1)
        XCTAssertEqual(try reader.unannouncedGaps().count, gaps.count)
    }

    func testRetentionByAgeSparesReadingsTakenBeforeTheClockWasTrusted() throws {
        let dir = TestPaths.temporaryDirectory("store")
        let clock = SteppedClock(wall: now)
        let settings = BufferSettings(maxAge: .seconds(3600))
        let (store, catalog) = try openStore(dir, settings: settings, clock: clock)
        let observer = CollectingObserver()
        store.start(observer: observer)
        store.submit(readings: readings(catalog, count: 10, ts: 1000, quality: .clockUnsynced))  // 1970: before NTP
        store.submit(readings: readings(catalog, count: 10, ts: now - 7_200_000))                // two hours old
        store.submit(readings: readings(catalog, count: 10, ts: now))                            // fresh
        store.flushAndWait()
        XCTAssertTrue(TestPaths.waitUntil(timeout: 15) { !observer.gaps.isEmpty })
        store.stop()
        XCTAssertEqual(observer.gaps.map { $0.gap.from...$0.gap.to }, [11...20])
        XCTAssertEqual(try BufferReader(path: dir + "/buffer.sqlite").stats().pendingRecords, 20)
    }

    func testAlarmsAndDetectorStateAreStoredAndSurviveARestart() throws {
        let dir = TestPaths.temporaryDirectory("store")
        var (store, catalog) = try openStore(dir)
        let observer = CollectingObserver()
        store.start(observer: observer)
        let v = catalog.id(device: "meter", point: "voltage")!
        store.submit(alarm: AlarmTransition(alarmID: "voltage:meter:voltage", type: "voltage", severity: .warning, state: .raised,
                                            pointID: v, timestampMilliseconds: now, value: 260, message: "voltage 260 V above 253 V"))
        store.saveDetectorState(["night_flow:x": [1, 2, 3]])
        store.flushAndWait()
        store.stop()
        let alarm = try XCTUnwrap(observer.records.first)
        XCTAssertEqual(alarm.kind, .alarm)
        XCTAssertTrue(alarm.detail?.contains("\"state\":\"raised\"") == true)
        XCTAssertTrue(alarm.detail?.contains("\"point\":\"voltage\"") == true)
        (store, catalog) = try openStore(dir)
        XCTAssertEqual(try store.loadDetectorState(), ["night_flow:x": [1, 2, 3]])
    }

    func testGarbageFileIsMovedAsideAndANewStoreBegins() throws {
        let dir = TestPaths.temporaryDirectory("store")
        let path = dir + "/buffer.sqlite"
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        let (store, _) = try openStore(dir)
        XCTAssertEqual(store.previousStore, "unknown")
        XCTAssertEqual(store.openingNotes.count, 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertTrue(files.contains { $0.hasPrefix("buffer.sqlite.corrupt-") }, "the damaged file must be kept: \(files)")
    }

    func testTruncatedDatabaseIsDetectedAtOpen() throws {
        let dir = TestPaths.temporaryDirectory("store")
        var (store, catalog) = try openStore(dir)
        let firstID = store.storeID
        store.start(observer: nil)
        for i in 0..<20 { store.submit(readings: readings(catalog, count: 500, ts: now + Int64(i))) }
        store.flushAndWait()
        store.stop()
        store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: .init(), logger: logger)  // checkpoints on close
        store.start(observer: nil); store.stop()
        let path = dir + "/buffer.sqlite"
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        XCTAssertEqual(truncate(path, off_t(size / 2)), 0)
        (store, catalog) = try openStore(dir)
        XCTAssertNotEqual(store.storeID, firstID)
        XCTAssertEqual(store.previousStore, firstID, "the old store id is read back from the damaged file when possible")
    }

    /// flushAndWait returns only once everything submitted before it is committed and handed on,
    /// even what still waited in the queue (the daemon's shutdown relies on it).
    func testFlushWaitsForEverythingQueuedBeforeIt() throws {
        let dir = TestPaths.temporaryDirectory("store")
        let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: BufferSettings(commitMaxRecords: 100), logger: logger,
                                         ingressCapacity: 64)
        let catalog = try store.registerPoints([PointRegistration(device: "meter", deviceKind: .generic, point: "voltage", unit: "")])
        let observer = CollectingObserver()
        store.start(observer: observer)
        for round in 0..<5 {
            for i in 0..<60 { store.submit(readings: readings(catalog, count: 50, ts: now + Int64(round * 100 + i))) }
            store.flushAndWait()
            XCTAssertEqual(observer.records.count, (round + 1) * 3000, "flush returned before queued readings were committed")
        }
        store.stop()
    }

    /// A reload adding devices registers their points while the writer runs: no reopen, in order.
    func testPointsCanBeRegisteredWhileTheWriterRuns() throws {
        let dir = TestPaths.temporaryDirectory("store")
        let (store, catalog) = try openStore(dir)
        let observer = CollectingObserver()
        store.start(observer: observer)
        store.submit(readings: readings(catalog, count: 10, ts: now))
        let grown = try store.registerPoints([PointRegistration(device: "pump", deviceKind: .generic, point: "speed", unit: "rpm")])
        let speed = try XCTUnwrap(grown.id(device: "pump", point: "speed"))
        XCTAssertEqual(grown.id(device: "meter", point: "voltage"), catalog.id(device: "meter", point: "voltage"), "existing ids stay")
        store.submit(readings: [Reading(pointID: speed, timestampMilliseconds: now, value: 1450, quality: .good)])
        store.flushAndWait()
        store.stop()
        XCTAssertEqual(observer.records.map(\.seq), Array(1...11))
        XCTAssertEqual(observer.records.last?.pointID, speed)
        XCTAssertEqual(try BufferReader(path: dir + "/buffer.sqlite").catalog()[speed]?.unit, "rpm")
    }

    func testSubmitBlocksWhenFullAndNothingIsDropped() throws {
        let dir = TestPaths.temporaryDirectory("store")
        let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: .init(), logger: logger, ingressCapacity: 2)
        let catalog = try store.registerPoints([PointRegistration(device: "meter", deviceKind: .generic, point: "voltage", unit: "")])
        let observer = CollectingObserver()
        // Producers fill the queue before the writer runs; they wait, then all get in.
        let producers = DispatchGroup()
        for p in 0..<4 {
            DispatchQueue.global().async(group: producers) {
                for i in 0..<25 { store.submit(readings: self.readings(catalog, count: 4, ts: self.now + Int64(p * 1000 + i))) }
            }
        }
        Thread.sleep(forTimeInterval: 0.3)
        store.start(observer: observer)
        XCTAssertEqual(producers.wait(timeout: .now() + 20), .success)
        store.flushAndWait()
        store.stop()
        XCTAssertEqual(observer.records.count, 400)
        XCTAssertEqual(observer.records.map(\.seq), Array(1...400))
    }
}

/// A wall clock the test steps and marks trusted; monotonic time is real.
final class TrustClock: GatewayClock, @unchecked Sendable {
    private let lock = NSLock()
    private var wall: Int64
    private var trusted: Bool
    init(wall: Int64, trusted: Bool) { self.wall = wall; self.trusted = trusted }
    func set(wall: Int64, trusted: Bool) { lock.lock(); self.wall = wall; self.trusted = trusted; lock.unlock() }
    func wallMilliseconds() -> Int64 { lock.lock(); defer { lock.unlock() }; return wall }
    func monotonicNanoseconds() -> UInt64 { SystemClock.monotonicNow() }
    func isWallClockTrusted() -> Bool { lock.lock(); defer { lock.unlock() }; return trusted }
}

final class BufferClockTests: XCTestCase {
    let logger = Logger(label: "test")

    /// A box without RTC boots in 1970: its readings carry clock_unsynced; once the clock is
    /// trusted, their timestamps are moved by the jump and the flag stays.
    func testTimestampsTakenBeforeTheClockWasTrustedAreCorrected() throws {
        let dir = TestPaths.temporaryDirectory("clock")
        let clock = TrustClock(wall: 5_000, trusted: false)
        let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: .init(), clock: clock, logger: logger)
        let catalog = try store.registerPoints([PointRegistration(device: "m", deviceKind: .generic, point: "p", unit: "")])
        let p = catalog.id(device: "m", point: "p")!
        store.start(observer: nil)
        store.submit(readings: (0..<5).map { Reading(pointID: p, timestampMilliseconds: 5_000 + Int64($0) * 100, value: 1, quality: .clockUnsynced) })
        store.flushAndWait()
        // NTP steps the clock to 2026.
        let synced: Int64 = 1_795_000_000_000
        clock.set(wall: synced, trusted: true)
        store.submit(readings: [Reading(pointID: p, timestampMilliseconds: synced, value: 2, quality: .good)])
        let reader = try BufferReader(path: dir + "/buffer.sqlite")
        XCTAssertTrue(TestPaths.waitUntil(timeout: 10) {
            ((try? reader.records(from: 1, to: 1, limit: 1))?.first?.timestampMilliseconds ?? 0) > 1_700_000_000_000
        }, "timestamps were not corrected")
        store.stop()
        let rows = try reader.records(from: 1, to: 6, limit: 10)
        XCTAssertEqual(rows.map(\.seq), [1, 2, 3, 4, 5, 6], "a clock step never reorders seq")
        for (i, r) in rows.prefix(5).enumerated() {
            XCTAssertEqual(r.quality, .clockUnsynced, "the flag is kept")
            // Corrected to within a few seconds of the trusted time (the test's own run time), in order.
            XCTAssertEqual(Double(r.timestampMilliseconds), Double(synced + Int64(i) * 100), accuracy: 10_000)
        }
        XCTAssertEqual(rows[5].timestampMilliseconds, synced)
    }
}
