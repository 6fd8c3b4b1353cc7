import BufferStore
import Detection
import Foundation
@testable import GatewayDaemon
import GatewayConfig
import GatewayModel
import GatewayTestSupport
import Logging
import ReplayInput
import XCTest

/// A wall clock that follows the data being fed, so the writer's periodic
/// detection tick sees the same time as the readings (as on a live box).
final class FollowingClock: GatewayClock, @unchecked Sendable {
    private let lock = NSLock()
    private var wall: Int64 = 0
    func follow(_ ms: Int64) { lock.lock(); wall = max(wall, ms); lock.unlock() }
    func wallMilliseconds() -> Int64 { lock.lock(); defer { lock.unlock() }; return wall }
    func monotonicNanoseconds() -> UInt64 { SystemClock.monotonicNow() }
    func isWallClockTrusted() -> Bool { true }
}

/// `gatewayctl detect --replay` and the daemon's path (store → CommitRouter →
/// detection → alarms stored) raise the same alarms for the same readings.
final class ReplayParityTests: XCTestCase {
    struct Transition: Hashable, CustomStringConvertible {
        var ts: Int64, device: String, point: String, type: String, state: String
        var description: String { "\(ts) \(device)/\(point) \(type) \(state)" }
    }

    func testReplayAndDaemonPathRaiseTheSameAlarms() throws {
        let leakDev = URL(fileURLWithPath: TestPaths.repositoryRoot).deletingLastPathComponent().appendingPathComponent("shared/leak-dev").path
        let csv = leakDev + "/hanoi/scenario-2/readings.csv.gz"
        precondition(FileManager.default.fileExists(atPath: csv), "leak-dev data missing at \(csv): it ships in ../shared")
        let config = try ConfigReader.load(path: TestPaths.repositoryRoot + "/detection-dev/hanoi.toml", purpose: .replay)

        // Offline replay.
        var offline: [Transition] = []
        _ = try ReplayRun.run(csvPath: csv, detectors: config.detectors) { line in
            let o = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            offline.append(Transition(ts: (o["ts"] as! NSNumber).int64Value, device: o["device"] as! String,
                                      point: o["point"] as! String, type: o["type"] as! String, state: o["state"] as! String))
        }
        XCTAssertFalse(offline.isEmpty, "the scenario has leaks; the replay raised nothing")

        // The daemon's path: the same rows as readings into a real store with the daemon's router.
        var names: [(String, String)] = []
        var rows: [ReplayRow] = []
        var reader = try ReplayReader(path: csv)
        while let row = try reader.next() {
            if row.pairIndex == names.count { names.append((row.device, row.point)) }
            rows.append(row)
        }
        let dir = TestPaths.temporaryDirectory("parity")
        let clock = FollowingClock()
        let logger = Logger(label: "parity")
        let store = try BufferStore.open(path: dir + "/buffer.sqlite", settings: .init(maxAge: .seconds(10 * 365 * 86_400)),
                                         clock: clock, logger: logger)
        let catalog = try store.registerPoints(names.map { PointRegistration(device: $0.0, deviceKind: .generic, point: $0.1, unit: "") })
        let router = CommitRouter()
        router.attach(store: store, clock: clock)
        router.replace(detection: try DetectionEngine(detectors: config.detectors, catalog: catalog), uplink: nil)
        store.start(observer: router)
        let ids = names.map { catalog.id(device: $0.0, point: $0.1)! }
        var i = 0
        while i < rows.count {
            // One poll's worth: the rows sharing a timestamp.
            var batch: [Reading] = []
            let ts = rows[i].ts
            while i < rows.count && rows[i].ts == ts {
                batch.append(Reading(pointID: ids[rows[i].pairIndex], timestampMilliseconds: ts, value: rows[i].value,
                                     quality: rows[i].value == nil ? .commError : .good))
                i += 1
            }
            clock.follow(ts)
            store.submit(readings: batch)
        }
        store.flushAndWait()
        store.flushAndWait()  // alarms raised in the last group are committed in the next
        store.stop()

        var daemon: [Transition] = []
        let stored = try BufferReader(path: dir + "/buffer.sqlite")
        let last = try stored.lastSeq()
        var from: UInt64 = 1
        while from <= last {
            let chunk = try stored.records(from: from, to: last, limit: 50_000)
            for r in chunk where r.kind == .alarm {
                let o = try JSONSerialization.jsonObject(with: Data("{\(r.detail ?? "")}".utf8)) as! [String: Any]
                let d = catalog[r.pointID]!
                daemon.append(Transition(ts: r.timestampMilliseconds, device: d.device, point: d.point,
                                         type: o["type"] as! String, state: o["state"] as! String))
            }
            from = (chunk.last?.seq ?? last) + 1
        }
        XCTAssertEqual(daemon, offline, "the daemon's path and the replay disagree")
    }
}
