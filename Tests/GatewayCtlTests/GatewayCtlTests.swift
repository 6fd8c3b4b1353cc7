import Foundation
import GatewayTestSupport
import XCTest

/// The real `gatewayctl` binary against real parts: config files, gateway-sim
/// (libmodbus TCP and RTU on a pseudo-terminal), a real gatewayd with a real
/// mosquitto, and the buffer it writes.
final class GatewayCtlTests: XCTestCase {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
        var jsonObject: [String: Any] { json as? [String: Any] ?? [:] }
        var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        }
    }

    func ctl(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        let r = try ChildProcess.run(TestPaths.executable("gatewayctl"), arguments, timeout: 60)
        return Run(status: r.status, stdout: r.stdout, stderr: r.stderr)
    }

    func writeConfig(_ text: String, in directory: String = TestPaths.temporaryDirectory("ctl")) throws -> String {
        let path = directory + "/gatewayd.toml"
        try text.replacingOccurrences(of: "@DATA_DIR@", with: directory + "/data").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let patternDevice = """
    [[device]]
    id = "pattern"
    bus = "lan"
    unit_id = 9
    interval = "200ms"
      [[device.point]]
      name = "f32"
      address = 2
      type = "float32"
      unit = "m3/h"
      [[device.point]]
      name = "f32_cdab"
      address = 16
      type = "float32"
      word_order = "little"
      [[device.point]]
      name = "i16_scaled"
      address = 14
      type = "int16"
      scale = 0.5
      offset = 10
      [[device.point]]
      name = "coil0"
      table = "coil"
      address = 0
      type = "bool"
    """

    // MARK: config

    func testConfigCheckExitCodesAndMessages() throws {
        let good = try writeConfig("""
        [gateway]
        id = "gw-ctl"
        data_dir = "@DATA_DIR@"
        """)
        let ok = try ctl(["config", "check", "--config", good])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("valid"), ok.stdout)
        XCTAssertEqual(try ctl(["config", "check", "--config", good, "--json"]).jsonObject["valid"] as? Bool, true)

        let bad = try writeConfig("""
        [gateway]
        id = "gw-ctl"
        data_dri = "/tmp/x"

        [[bus]]
        name = "lan"
        type = "modbus-tcp"
        host = "127.0.0.1"
        port = 70000
        """)
        let failed = try ctl(["config", "check", "--config", bad])
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.contains("\(bad):3: gateway.data_dri:") || failed.stderr.contains("\(bad):3: data_dri:"), failed.stderr)
        XCTAssertTrue(failed.stderr.contains("\(bad):9: "), "every problem is listed: \(failed.stderr)")
        let failedJSON = try ctl(["config", "check", "--config", bad, "--json"])
        XCTAssertEqual(failedJSON.status, 1)
        XCTAssertEqual(failedJSON.jsonObject["valid"] as? Bool, false)
        XCTAssertEqual((failedJSON.jsonObject["problems"] as? [Any])?.count, 2)

        let missing = try ctl(["config", "check", "--config", "/nonexistent/gatewayd.toml"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/gatewayd.toml:1: file:"), missing.stderr)

        XCTAssertEqual(try ctl(["config", "check", "--no-such-option"]).status, 2, "usage errors exit 2")
        XCTAssertEqual(try ctl(["no-such-verb"]).status, 2)

        let show = try ctl(["config", "show", "--config", good])
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertTrue(show.stdout.contains("gw-ctl"), show.stdout)
    }

    func testHelpManualAndCompletions() throws {
        let help = try ctl(["buffer", "purge", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--yes"), help.stdout)
        let manual = try ctl(["manual"])
        XCTAssertEqual(manual.status, 0)
        XCTAssertTrue(manual.stdout.hasPrefix(".TH GATEWAYCTL 1"), manual.stdout)
        XCTAssertTrue(manual.stdout.contains("gatewayctl buffer purge"), "every verb has a section")
        XCTAssertTrue(manual.stdout.contains("gatewayctl probe modbus"))
        for shell in ["bash", "zsh"] {
            let c = try ctl(["--generate-completion-script", shell])
            XCTAssertEqual(c.status, 0)
            XCTAssertTrue(c.stdout.contains("gatewayctl"), shell)
        }
    }

    // MARK: without the daemon

    func testStatusSaysClearlyWhenTheDaemonIsNotRunning() throws {
        let dir = TestPaths.temporaryDirectory("ctl")
        let config = try writeConfig("[gateway]\nid = \"gw-ctl\"\ndata_dir = \"@DATA_DIR@\"\n", in: dir)
        let r = try ctl(["status", "--config", config])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("gatewayd is not running (no control socket at \(dir)/data/gatewayd.sock)"), r.stderr)
        let buffer = try ctl(["buffer", "stats", "--config", config])
        XCTAssertEqual(buffer.status, 1)
        XCTAssertTrue(buffer.stderr.contains("no buffer database here"), buffer.stderr)
    }

    func testPollAndProbeOverTCPWithoutTheDaemon() throws {
        let sim = try SimulatorProcess()
        let config = try writeConfig("""
        [gateway]
        id = "gw-ctl"
        data_dir = "@DATA_DIR@"

        [[bus]]
        name = "lan"
        type = "modbus-tcp"
        host = "127.0.0.1"
        port = \(sim.port)
        timeout = "300ms"

        \(Self.patternDevice)
        """)
        let poll = try ctl(["poll", "--config", config])
        XCTAssertEqual(poll.status, 0, poll.stdout + poll.stderr)
        XCTAssertTrue(poll.stdout.contains("polled directly"), poll.stdout)
        let f32Line = poll.stdout.split(separator: "\n").first { $0.contains(" f32 ") }
        XCTAssertNotNil(f32Line)
        XCTAssertTrue(f32Line?.contains("0x42F6 0xE979") == true && f32Line?.contains("123.456") == true, String(f32Line ?? ""))

        let json = try ctl(["poll", "--config", config, "--json"])
        XCTAssertEqual(json.status, 0)
        let rows = json.jsonObject["rows"] as? [[String: Any]] ?? []
        let values = Dictionary(uniqueKeysWithValues: rows.map { ($0["point"] as? String ?? "", ($0["value"] as? NSNumber)?.doubleValue) })
        XCTAssertEqual(values["f32"]!!, 123.456, accuracy: 0.001)
        XCTAssertEqual(values["f32_cdab"]!!, 123.456, accuracy: 0.001)
        XCTAssertEqual(values["i16_scaled"]!!, 9)  // -2 * 0.5 + 10
        XCTAssertEqual(values["coil0"]!!, 1)
        XCTAssertEqual(Set(rows.map { $0["quality"] as? String }), ["good"])

        // A muted unit: the poll says which unit did not answer, exit 1.
        sim.command("mute 9")
        let silent = try ctl(["poll", "--config", config])
        XCTAssertEqual(silent.status, 1)
        XCTAssertTrue(silent.stdout.contains("no answer from unit 9 on lan within 300 ms"), silent.stdout)
        sim.command("unmute 9")

        // Probe: the CDAB pair decodes to 123.456 under CDAB only.
        let probe = try ctl(["probe", "modbus", "--config", config, "--tcp", "127.0.0.1:\(sim.port)", "--unit", "9",
                             "--address", "16", "--count", "2", "--json"])
        XCTAssertEqual(probe.status, 0, probe.stderr)
        XCTAssertEqual(probe.jsonObject["registers"] as? [Int], [0xE979, 0x42F6])
        XCTAssertEqual(probe.jsonObject["via"] as? String, "direct")
        let decodings = (probe.jsonObject["interpretations"] as? [[String: Any]] ?? []).filter { ($0["address"] as? Int) == 16 }
        XCTAssertEqual(decodings.count, 4)
        let plausible = decodings.filter { abs((($0["float32"] as? NSNumber)?.doubleValue ?? 0) - 123.456) < 0.001 }.map { $0["order"] as? String }
        XCTAssertEqual(plausible, ["CDAB"])
        let human = try ctl(["probe", "modbus", "--tcp", "127.0.0.1:\(sim.port)", "--unit", "9", "--address", "16", "--count", "2"])
        XCTAssertEqual(human.status, 0)
        let cdab = human.stdout.split(separator: "\n").first { $0.contains("CDAB") && $0.hasPrefix("     16") || $0.hasPrefix("16") && $0.contains("CDAB") }
        XCTAssertTrue(cdab?.contains("123.456") == true, human.stdout)
        XCTAssertTrue(human.stdout.contains("0xE979"), human.stdout)

        // An exception is a clear message and exit 1.
        let unmapped = try ctl(["probe", "modbus", "--tcp", "127.0.0.1:\(sim.port)", "--unit", "9", "--address", "500", "--count", "1"])
        XCTAssertEqual(unmapped.status, 1)
        XCTAssertTrue(unmapped.stderr.contains("exception 0x02"), unmapped.stderr)

        let scan = try ctl(["probe", "scan", "--tcp", "127.0.0.1:\(sim.port)", "--units", "1-10", "--timeout", "100ms", "--json"])
        XCTAssertEqual(scan.status, 0, scan.stderr)
        XCTAssertEqual((scan.jsonObject["found"] as? [[String: Any]])?.compactMap { $0["unit"] as? Int }, [1, 2, 3, 9])

        XCTAssertEqual(try ctl(["probe", "modbus", "--unit", "9"]).status, 2, "no target is a usage error")
    }

    func testProbeAndPollOverRTUOnAPseudoTerminal() throws {
        let dir = TestPaths.temporaryDirectory("ctl-rtu")
        let link = dir + "/ttySIM"
        let sim = try ChildProcess(TestPaths.executable("gateway-sim"), ["modbus", "--rtu-pty", link, "--units", "9=pattern"])
        defer { sim.kill9() }
        XCTAssertNotNil(sim.waitForLine(containing: "ready", timeout: 15), sim.allOutput)

        let probe = try ctl(["probe", "modbus", "--rtu", link, "--baud", "9600", "--unit", "9", "--address", "2", "--count", "2", "--json"])
        XCTAssertEqual(probe.status, 0, probe.stderr)
        XCTAssertEqual(probe.jsonObject["registers"] as? [Int], [0x42F6, 0xE979])
        let abcd = (probe.jsonObject["interpretations"] as? [[String: Any]] ?? []).first { ($0["address"] as? Int) == 2 && ($0["order"] as? String) == "ABCD" }
        XCTAssertEqual((abcd?["float32"] as? NSNumber)?.doubleValue ?? 0, 123.456, accuracy: 0.001)

        let config = try writeConfig("""
        [gateway]
        id = "gw-ctl"
        data_dir = "@DATA_DIR@"

        [[bus]]
        name = "lan"
        type = "modbus-rtu"
        device = "\(link)"
        baud = 9600
        timeout = "300ms"

        \(Self.patternDevice)
        """, in: dir)
        let poll = try ctl(["poll", "--config", config, "--json"])
        XCTAssertEqual(poll.status, 0, poll.stdout + poll.stderr)
        let rows = poll.jsonObject["rows"] as? [[String: Any]] ?? []
        XCTAssertEqual((rows.first { ($0["point"] as? String) == "f32" }?["value"] as? NSNumber)?.doubleValue ?? 0, 123.456, accuracy: 0.001)

        let missingPort = try ctl(["probe", "modbus", "--rtu", dir + "/ttyNONE", "--unit", "9"])
        XCTAssertEqual(missingPort.status, 1)
        XCTAssertTrue(missingPort.stderr.contains(dir + "/ttyNONE"), missingPort.stderr)
    }

    // MARK: with a running daemon

    func testEveryVerbAgainstARunningGatewayAndItsBuffer() throws {
        let sim = try SimulatorProcess()
        let broker = try MosquittoBroker()
        let gateway = try GatewayProcess(config: """
        [gateway]
        id = "gw-ctl"
        data_dir = "@DATA_DIR@"

        [uplink]
        url = "\(broker.url)"
        topic_prefix = "t"
        batch_max_delay = "200ms"

        [[bus]]
        name = "lan"
        type = "modbus-tcp"
        host = "127.0.0.1"
        port = \(sim.port)
        timeout = "300ms"

        \(Self.patternDevice)

        [[detector]]
        type = "range"
        device = "pattern"
        point = "f32"
        max = 100
        """)
        // A socket left behind by a daemon that died: the new daemon replaces it.
        let socketPath = gateway.dataDirectory + "/gatewayd.sock"
        try FileManager.default.createDirectory(atPath: gateway.dataDirectory, withIntermediateDirectories: true)
        Self.leaveStaleSocket(at: socketPath)
        try gateway.start()
        let config = gateway.configPath
        defer { _ = gateway.terminate() }

        // Status: up, uplink connected, the device polled, the range alarm active.
        var status = Run(status: -1, stdout: "", stderr: "")
        let settled = TestPaths.waitUntil(timeout: 15) {
            status = (try? self.ctl(["status", "--config", config, "--json"])) ?? status
            let s = status.jsonObject
            let uplink = s["uplink"] as? [String: Any]
            let devices = (s["buses"] as? [[String: Any]])?.first?["devices"] as? [[String: Any]]
            return uplink?["connected"] as? Bool == true && devices?.first?["lastGoodPollMilliseconds"] != nil
                && (s["activeAlarms"] as? [Any])?.count == 1
        }
        XCTAssertTrue(settled, status.stdout + status.stderr + gateway.log)
        XCTAssertEqual(status.jsonObject["gatewayID"] as? String, "gw-ctl")
        let mode = (try FileManager.default.attributesOfItem(atPath: socketPath)[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(mode, 0o660, "the control socket is for the gatewayd user and group only")
        let human = try ctl(["status", "--config", config])
        XCTAssertEqual(human.status, 0, human.stderr)
        for expected in ["gateway gw-ctl", "uplink      connected to mqtt://127.0.0.1:\(broker.port)", "backlog", "pattern", "range"] {
            XCTAssertTrue(human.stdout.contains(expected), "\(expected) in:\n\(human.stdout)")
        }

        // Poll and probe go through the daemon's bus owner while it runs.
        let poll = try ctl(["poll", "--config", config])
        XCTAssertEqual(poll.status, 0, poll.stdout + poll.stderr)
        XCTAssertTrue(poll.stdout.contains("polled through the running gatewayd"), poll.stdout)
        XCTAssertTrue(poll.stdout.contains("123.456"), poll.stdout)
        let probe = try ctl(["probe", "modbus", "--config", config, "--tcp", "127.0.0.1:\(sim.port)", "--unit", "9", "--address", "2", "--count", "2", "--json"])
        XCTAssertEqual(probe.status, 0, probe.stderr)
        XCTAssertTrue((probe.jsonObject["via"] as? String)?.hasPrefix("gatewayd bus lan") == true, probe.stdout)
        XCTAssertEqual(probe.jsonObject["registers"] as? [Int], [0x42F6, 0xE979])
        let viaDaemonTimeout = try ctl(["probe", "modbus", "--config", config, "--tcp", "127.0.0.1:\(sim.port)", "--unit", "77", "--count", "1"])
        XCTAssertEqual(viaDaemonTimeout.status, 1)
        XCTAssertTrue(viaDaemonTimeout.stderr.contains("no answer from unit 77 on lan within 300 ms"), viaDaemonTimeout.stderr)

        // Export while the daemon writes: one consistent snapshot, and the daemon keeps polling.
        let exportPath = gateway.directory + "/export.jsonl"
        let export = try ctl(["buffer", "export", "--config", config, "--format", "jsonl", "--output", exportPath])
        XCTAssertEqual(export.status, 0, export.stderr)
        let exported = try String(contentsOfFile: exportPath, encoding: .utf8).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        let seqs = exported.compactMap { ($0["seq"] as? NSNumber)?.uint64Value }
        XCTAssertGreaterThan(seqs.count, 8)
        XCTAssertEqual(seqs, seqs.sorted())
        XCTAssertEqual(Set(seqs).count, seqs.count)
        let alarms = try ctl(["alarms", "--config", config, "--json"])
        XCTAssertEqual(alarms.status, 0, alarms.stderr)
        let alarmRows = alarms.json as? [[String: Any]] ?? []
        XCTAssertEqual(alarmRows.count, 1)
        XCTAssertEqual(alarmRows.first?["state"] as? String, "raised")
        XCTAssertEqual(alarmRows.first?["type"] as? String, "range")
        // Every seq up to the last exported is there, except the alarm record (shown by `alarms`).
        let alarmSeqs = Set(alarmRows.compactMap { ($0["seq"] as? NSNumber)?.uint64Value })
        let missing = Set(1...(seqs.last ?? 1)).subtracting(seqs)
        XCTAssertTrue(missing.isSubset(of: alarmSeqs), "missing \(missing.sorted()) alarms \(alarmSeqs)")
        XCTAssertTrue(TestPaths.waitUntil(timeout: 10) {
            let s = (try? self.ctl(["buffer", "stats", "--config", config, "--json"]))?.jsonObject["stats"] as? [String: Any]
            return ((s?["lastSeq"] as? NSNumber)?.uint64Value ?? 0) > (seqs.last ?? 0) + 8
        }, "the daemon keeps polling and committing during and after the export")
        XCTAssertTrue(try ctl(["alarms", "--config", config, "--active"]).stdout.contains("raised"))

        // CSV export in the replay format replays through the same detectors.
        let csvPath = gateway.directory + "/export.csv"
        XCTAssertEqual(try ctl(["buffer", "export", "--config", config, "--device", "pattern", "--point", "f32",
                                "--format", "csv", "--output", csvPath, "--replay-columns"]).status, 0)
        let csv = try String(contentsOfFile: csvPath, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "ts,device,point,value")
        XCTAssertTrue(csv.dropFirst().allSatisfy { $0.hasSuffix(",pattern,f32,123.456") || $0.hasSuffix(",pattern,f32,123.45600128173828") }, String(csv.dropFirst().first ?? ""))
        let replay = try ctl(["detect", "--replay", csvPath, "--config", config])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertTrue(replay.stdout.contains("\"raised\""), replay.stdout)
        let full = try ctl(["buffer", "export", "--config", config, "--format", "csv", "--to", "now"])
        XCTAssertEqual(full.stdout.split(separator: "\n").first, "ts,device,point,value,quality,seq")

        let tail = try ctl(["buffer", "tail", "--config", config, "-n", "5", "--device", "pattern", "--point", "coil0", "--json"])
        XCTAssertEqual(tail.status, 0, tail.stderr)
        XCTAssertEqual(tail.jsonLines.count, 5)
        XCTAssertTrue(tail.jsonLines.allSatisfy { $0["point"] as? String == "coil0" && ($0["value"] as? NSNumber)?.doubleValue == 1 })
        XCTAssertEqual(try ctl(["buffer", "tail", "--config", config, "--since", "-1h", "-n", "3"]).stdout.split(separator: "\n").count, 4)

        // Some rows acknowledged by the broker, then stop the daemon: the socket goes away.
        XCTAssertTrue(TestPaths.waitUntil(timeout: 10) {
            let s = (try? self.ctl(["buffer", "stats", "--config", config, "--json"]))?.jsonObject["stats"] as? [String: Any]
            return ((s?["sentRecords"] as? NSNumber)?.intValue ?? 0) > 5
        })
        XCTAssertEqual(gateway.terminate(), 0)
        let stopped = try ctl(["status", "--config", config])
        XCTAssertEqual(stopped.status, 1)
        XCTAssertTrue(stopped.stderr.contains("gatewayd is not running"), stopped.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath), "the daemon unlinks its socket at stop")

        // Purge: without --yes nothing changes; with it exactly what it showed goes, and the audit log says so.
        func sentCount() throws -> Int {
            (try ctl(["buffer", "stats", "--config", config, "--json"]).jsonObject["stats"] as? [String: Any])?["sentRecords"] as? Int ?? -1
        }
        let sentBefore = try sentCount()
        let dry = try ctl(["buffer", "purge", "--config", config, "--sent", "--before", "now", "--json"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        let planned = (dry.jsonObject["plan"] as? [String: Any])?["records"] as? Int
        XCTAssertEqual(planned, sentBefore)
        XCTAssertEqual(dry.jsonObject["applied"] as? Bool, false)
        XCTAssertTrue(try ctl(["buffer", "purge", "--config", config, "--sent", "--before", "now"]).stdout.contains("would remove \(sentBefore) sent records"))
        XCTAssertEqual(try sentCount(), sentBefore, "no --yes, no change")
        XCTAssertEqual(try ctl(["audit", "--config", config]).stdout, "the audit log is empty")
        XCTAssertEqual(try ctl(["buffer", "purge", "--config", config, "--before", "now"]).status, 2, "--sent is required")

        let wet = try ctl(["buffer", "purge", "--config", config, "--sent", "--before", "now", "--yes"])
        XCTAssertEqual(wet.status, 0, wet.stderr)
        XCTAssertTrue(wet.stdout.contains("removed \(sentBefore) records"), wet.stdout)
        XCTAssertEqual(try sentCount(), 0)
        let audit = try ctl(["audit", "--config", config, "--json"])
        let entries = audit.json as? [[String: Any]] ?? []
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries.first?["action"] as? String, "purge")
        XCTAssertEqual(entries.first?["rows"] as? Int, sentBefore)
        XCTAssertEqual(entries.first?["uid"] as? Int, Int(getuid()))
        XCTAssertTrue(try ctl(["audit", "--config", config]).stdout.contains("purge"))

        XCTAssertEqual(try ctl(["buffer", "purge", "--config", config, "--sent", "--before", "-1h"]).status, 0, "relative times")

        let check = try ctl(["buffer", "check", "--config", config])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.hasSuffix(": ok"), check.stdout)
        let stats = try ctl(["buffer", "stats", "--config", config])
        XCTAssertTrue(stats.stdout.contains("pending") && stats.stdout.contains("size"), stats.stdout)
    }

    /// Binds a Unix socket at `path` and closes it without unlinking, as a killed daemon would leave it.
    static func leaveStaleSocket(at path: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(rc == 0, "bind \(path): \(errno)")
        close(fd)
    }
}
