import Foundation
import GatewayModel
import GatewayTestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The product's core promise with real processes: every seq either arrives or
/// is announced on `gaps`, across outages, kill -9, retention, a full disk,
/// a damaged buffer and resend requests.
final class StoreAndForwardEndToEndTests: XCTestCase {
    func config(sim: SimulatorProcess, brokerPort: Int, interval: String = "100ms", buffer: String = "",
                dataDir: String = "@DATA_DIR@") -> String {
        PipelineEndToEndTests.config(simPort: sim.port, brokerPort: brokerPort, batchMax: 50, interval: interval)
            .replacingOccurrences(of: "data_dir = \"@DATA_DIR@\"", with: "data_dir = \"\(dataDir)\"\n\n[buffer]\n\(buffer)\n")
    }

    /// Everything the subscriber(s) saw, as a StreamAudit.
    func audit(_ recorders: [TopicRecorder]) -> StreamAudit {
        var a = StreamAudit()
        for r in recorders {
            for m in r.messages {
                guard let o = try? JSONSerialization.jsonObject(with: Data(m.payload.utf8)) as? [String: Any],
                      let store = o["store"] as? String else { continue }
                if m.topic.hasSuffix("/gaps") {
                    for g in o["ranges"] as? [[String: Any]] ?? [] {
                        a.announced(store: store, from: (g["from"] as! NSNumber).uint64Value, to: (g["to"] as! NSNumber).uint64Value,
                                    reason: g["reason"] as? String ?? "")
                    }
                } else if let rs = o["readings"] as? [[String: Any]] {
                    for r in rs { a.received(store: store, seq: (r["seq"] as! NSNumber).uint64Value) }
                } else if let seq = o["seq"] as? NSNumber {
                    a.received(store: store, seq: seq.uint64Value)
                }
            }
        }
        return a
    }

    func storeID(_ bufferPath: String) throws -> String {
        try sqlite(bufferPath, "SELECT value FROM meta WHERE key='store_id'")
    }

    func sqlite(_ path: String, _ sql: String) throws -> String {
        let r = try ChildProcess.run(TestPaths.systemProgram("sqlite3"), [path, sql])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until every seq from 1 to the store's last seq arrived or was announced.
    func assertComplete(_ recorders: [TopicRecorder], gateway: GatewayProcess, timeout: TimeInterval = 40,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let store = try storeID(gateway.bufferPath)
        let last = UInt64(try sqlite(gateway.bufferPath, "SELECT value FROM meta WHERE key='last_seq'")) ?? 0
        XCTAssertGreaterThan(last, 0, file: file, line: line)
        var report = audit(recorders).report(store: store)
        TestPaths.waitUntil(timeout: timeout) {
            report = audit(recorders).report(store: store)
            return report.missing.isEmpty && report.lastSeq >= last
        }
        XCTAssertEqual(report.missing, [], "missing seqs (neither received nor announced)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(report.lastSeq, last, file: file, line: line)
    }

    /// Broker stopped while polling, then restarted: `gatewayctl verify` reports every seq delivered.
    func testBrokerOutageLosesNothingAndVerifierAgrees() throws {
        let broker = try MosquittoBroker()
        let sim = try SimulatorProcess()
        let verify = try ChildProcess(TestPaths.executable("gatewayctl"),
                                      ["verify", "--url", broker.url, "--gateway", "gw-test", "--prefix", "t", "--idle", "6s", "--json"])
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        let gw = try GatewayProcess(config: config(sim: sim, brokerPort: broker.port))
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.readings.count > 20 })
        broker.stop()
        Thread.sleep(forTimeInterval: 6)
        // Hold gatewayd while the broker returns, so both subscribers are back before it publishes.
        gw.child!.signal(SIGSTOP)
        try broker.start()
        let sub2 = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        Thread.sleep(forTimeInterval: 2.5)  // the verifier's client reconnects on its own
        gw.child!.signal(SIGCONT)
        XCTAssertTrue(sub2.waitUntil(timeout: 20) { $0.readings.contains { $0.historical } }, "no backlog after the outage: \(gw.log)")
        XCTAssertEqual(gw.terminate(), 0)
        try assertComplete([sub, sub2], gateway: gw)

        XCTAssertNotNil(verify.waitForExit(timeout: 40), "verify did not finish")
        XCTAssertEqual(verify.process.terminationStatus, 0, "verify found missing readings: \(verify.allOutput)")
        let report = verify.stdoutLines.joined()
        XCTAssertTrue(report.contains("\"missing_count\":0"), report)
    }

    /// kill -9 during an outage and again during heavy publishing: after restart every seq arrives (duplicates allowed).
    func testKill9DuringOutageAndDuringPublishingLosesNothing() throws {
        let sim = try SimulatorProcess()
        let port = TestPaths.freePort()
        let gw = try GatewayProcess(config: config(sim: sim, brokerPort: port, interval: "50ms"))
        try gw.start()
        Thread.sleep(forTimeInterval: 2)
        gw.kill9()  // during the outage: all of it is pending in the buffer
        try gw.start()
        Thread.sleep(forTimeInterval: 1)

        gw.child!.signal(SIGSTOP)
        let broker = try MosquittoBroker(port: port)
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        gw.child!.signal(SIGCONT)
        XCTAssertTrue(sub.waitUntil(timeout: 20) { $0.readings.count > 200 })
        gw.kill9()  // during heavy publishing: some messages in flight, some acknowledged
        try gw.start()
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(gw.terminate(), 0)
        try assertComplete([sub], gateway: gw)
        XCTAssertTrue(sub.readings.contains { $0.historical })
    }

    /// durability = full: what was committed before kill -9 is all there, and the file is sound.
    func testFullDurabilityKeepsEverythingCommittedAcrossKill9() throws {
        let broker = try MosquittoBroker()
        let sim = try SimulatorProcess()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        let gw = try GatewayProcess(config: config(sim: sim, brokerPort: broker.port, interval: "50ms", buffer: "durability = \"full\""))
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.readings.count > 100 })
        gw.kill9()
        let received = sub.allSeqs  // published, so committed before the kill
        XCTAssertEqual(try sqlite(gw.bufferPath, "PRAGMA integrity_check"), "ok")
        let stored = Set(try sqlite(gw.bufferPath, "SELECT seq FROM records").split(separator: "\n").compactMap { UInt64($0) })
        XCTAssertTrue(received.isSubset(of: stored), "committed records lost: \(received.subtracting(stored).sorted().prefix(10))")
        let last = UInt64(try sqlite(gw.bufferPath, "SELECT value FROM meta WHERE key='last_seq'"))!
        XCTAssertEqual(stored, Set(1...last), "the buffer has holes")
    }

    /// Retention smaller than the outage: evicted ranges are announced on `gaps`, the counts match
    /// the buffer's, and what never arrived is exactly what was announced.
    func testRetentionEvictionsAreAnnouncedExactly() throws {
        let sim = try SimulatorProcess()
        let port = TestPaths.freePort()
        let gw = try GatewayProcess(config: config(sim: sim, brokerPort: port, interval: "20ms", buffer: "max_size = \"160kB\""))
        try gw.start()
        XCTAssertNotNil(gw.child?.waitForLine(containing: "retention evicted unsent records", timeout: 40), "no eviction: \(gw.log)")
        gw.child!.signal(SIGSTOP)
        let broker = try MosquittoBroker(port: port)
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        gw.child!.signal(SIGCONT)
        XCTAssertTrue(sub.waitUntil(timeout: 20) { !$0.messages(topicSuffix: "/gaps").isEmpty }, "no gaps announced: \(gw.log)")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(gw.terminate(), 0)
        try assertComplete([sub], gateway: gw)

        let store = try storeID(gw.bufferPath)
        let a = audit([sub])
        let last = a.report(store: store).lastSeq
        let notReceived = Set(1...last).subtracting(a.receivedSeqs(store: store))
        XCTAssertEqual(notReceived, a.announcedSeqs(store: store), "never-arrived and announced differ")
        let storedGapCount = UInt64(try sqlite(gw.bufferPath, "SELECT sum(count) FROM gaps WHERE reason='retention'")) ?? 0
        XCTAssertEqual(storedGapCount, UInt64(a.announcedSeqs(store: store).count), "buffer stats and announcements disagree")
        XCTAssertTrue(a.report(store: store).announced.allSatisfy { $0.reason == "retention" })
    }

    /// cmd/resend: a held range comes back as historical data, an evicted one is announced as not held.
    func testResendOfHeldAndEvictedRanges() throws {
        let sim = try SimulatorProcess()
        let port = TestPaths.freePort()
        let gw = try GatewayProcess(config: config(sim: sim, brokerPort: port, interval: "20ms", buffer: "max_size = \"160kB\""))
        try gw.start()
        XCTAssertNotNil(gw.child?.waitForLine(containing: "retention evicted unsent records", timeout: 40))
        gw.child!.signal(SIGSTOP)
        let broker = try MosquittoBroker(port: port)
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        gw.child!.signal(SIGCONT)
        XCTAssertTrue(sub.waitUntil(timeout: 20) { $0.readings.contains { !$0.historical } })
        let store = try storeID(gw.bufferPath)
        let evicted = try XCTUnwrap(audit([sub]).report(store: store).announced.first)
        let held = try XCTUnwrap(sub.readings.filter { !$0.historical }.last?.seq)

        let beforeCount = sub.messages.count
        let pub = TestPaths.systemProgram("mosquitto_pub")
        for (from, to) in [(held - 5, held), (evicted.from, evicted.from + 3)] {
            let r = try ChildProcess.run(pub, ["-h", "127.0.0.1", "-p", String(port), "-q", "1", "-t", "t/gw-test/cmd/resend",
                                               "-m", "{\"store\":\"\(store)\",\"from\":\(from),\"to\":\(to)}"])
            XCTAssertEqual(r.status, 0)
        }
        XCTAssertTrue(sub.waitUntil(timeout: 15) { r in
            let later = Array(r.messages.dropFirst(beforeCount))
            let resent = later.contains { $0.topic.contains("/data/") && $0.payload.contains("\"historical\":true") && $0.payload.contains("\"seq\":\(held)") }
            let notHeld = later.contains { $0.topic.hasSuffix("/gaps") && $0.payload.contains("not_held") && $0.payload.contains("\"from\":\(evicted.from)") }
            return resent && notHeld
        }, "resend answers missing: \(sub.messages.dropFirst(beforeCount).map(\.payload).prefix(5))")
        // Ranges no store holds, even retained ones replayed at every connect, are refused, never a crash.
        for payload in ["{\"store\":\"other\",\"from\":0,\"to\":18446744073709551615}",
                        "{\"store\":\"\(store)\",\"from\":1,\"to\":9223372036854775808}"] {
            let r = try ChildProcess.run(pub, ["-h", "127.0.0.1", "-p", String(port), "-q", "1", "-r", "-t", "t/gw-test/cmd/resend", "-m", payload])
            XCTAssertEqual(r.status, 0)
        }
        XCTAssertNotNil(gw.child?.waitForLine(containing: "ignoring a malformed cmd/resend", timeout: 10))
        Thread.sleep(forTimeInterval: 1)
        XCTAssertTrue(gw.child!.isRunning, "an extreme resend range crashed gatewayd: \(gw.log)")
        XCTAssertEqual(gw.terminate(), 0)
        try gw.start()  // the retained request comes back at connect
        Thread.sleep(forTimeInterval: 2)
        XCTAssertTrue(gw.child!.isRunning, "a retained extreme resend range crashed gatewayd at start")
        XCTAssertEqual(gw.terminate(), 0)
        // Both accepted requests are in the audit log.
        XCTAssertEqual(try sqlite(gw.bufferPath, "SELECT count(*) FROM audit WHERE action = 'resend'"), "2")
    }

    /// A damaged buffer at start is moved aside (not deleted) and a new store takes over.
    func testDamagedBufferIsMovedAsideAndANewStoreStarts() throws {
        let broker = try MosquittoBroker()
        let sim = try SimulatorProcess()
        let gw = try GatewayProcess(config: config(sim: sim, brokerPort: broker.port))
        try gw.start()
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(gw.terminate(), 0)
        let oldStore = try storeID(gw.bufferPath)

        for damage in ["garbage", "truncated"] {
            if damage == "garbage" {
                try Data((0..<20_000).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: gw.bufferPath))
            } else {
                // A real database cut in half.
                try gw.start()
                Thread.sleep(forTimeInterval: 1.5)
                XCTAssertEqual(gw.terminate(), 0)
                let size = try FileManager.default.attributesOfItem(atPath: gw.bufferPath)[.size] as! Int
                XCTAssertEqual(truncate(gw.bufferPath, off_t(size / 2)), 0)
            }
            let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/status")
            try gw.start()
            XCTAssertTrue(gw.log.contains("moved it aside"), "\(damage): \(gw.log)")
            let asides = try FileManager.default.contentsOfDirectory(atPath: gw.dataDirectory).filter { $0.contains(".corrupt-") }
            XCTAssertFalse(asides.isEmpty, "\(damage): the damaged file was not kept")
            let newStore = try storeID(gw.bufferPath)
            XCTAssertNotEqual(newStore, oldStore)
            XCTAssertTrue(sub.waitUntil(timeout: 10) { $0.messages.contains { $0.payload.contains(newStore) && $0.payload.contains("previous_store") } },
                          "\(damage): the new store was not announced on status")
            XCTAssertEqual(gw.terminate(), 0)
        }
    }

    /// The data directory on a tiny filesystem that fills up: no crash, the newest readings are
    /// held in memory, overflow is announced, and the gateway recovers when space returns.
    func testFullDiskIsSurvivedAndAnnounced() throws {
        precondition(geteuid() == 0, "this test mounts a tmpfs and must run as root (CI does)")
        let broker = try MosquittoBroker()
        let sim = try SimulatorProcess()
        let sub = try TopicRecorder(port: broker.port, filter: "t/gw-test/#")
        let dir = TestPaths.temporaryDirectory("diskfull")
        let mountPoint = dir + "/data"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint])
        XCTAssertEqual(mount.status, 0, "cannot mount a tmpfs for the disk-full test: \(mount.stderr)")
        defer { _ = try? ChildProcess.run("/bin/umount", ["-l", mountPoint]) }

        let gw = try GatewayProcess(config: config(sim: sim, brokerPort: broker.port, interval: "20ms",
                                                   buffer: "memory_queue_records = 300", dataDir: mountPoint), directory: dir)
        try gw.start()
        XCTAssertTrue(sub.waitUntil(timeout: 15) { $0.readings.count > 50 })
        // Fill the filesystem to the last byte.
        let filler = mountPoint + "/filler"
        _ = try? ChildProcess.run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k"])
        XCTAssertNotNil(gw.child?.waitForLine(containing: "disk full", timeout: 30), "disk full not noticed: \(gw.log)")
        // Longer than the store writer's watchdog window: a full disk is not a stall (a restart
        // by systemd would lose what the writer holds in memory and fix nothing).
        Thread.sleep(forTimeInterval: 12)
        XCTAssertTrue(gw.child!.isRunning, "gatewayd died on a full disk: \(gw.log)")
        XCTAssertFalse(gw.log.contains("store writer made no progress"), "a full disk was reported as a stalled writer")
        try FileManager.default.removeItem(atPath: filler)
        XCTAssertNotNil(gw.child?.waitForLine(containing: "disk has space again", timeout: 30), "no recovery: \(gw.log)")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(gw.terminate(), 0)
        XCTAssertEqual(try sqlite(gw.bufferPath, "PRAGMA integrity_check"), "ok")
        try assertComplete([sub], gateway: gw)
        let store = try storeID(gw.bufferPath)
        let report = audit([sub]).report(store: store)
        XCTAssertTrue(report.announced.contains { $0.reason == "disk_full" }, "memory overflow was not announced: \(report.announced)")
    }
}
