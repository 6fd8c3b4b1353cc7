import Foundation
import GatewayModel
import Uplink

#if canImport(Glibc)
import Glibc
#endif

/// Where the built programs live: next to this executable (same build).
struct Programs {
    var directory: String
    var gatewayd: String { directory + "/gatewayd" }
    var gatewayctl: String { directory + "/gatewayctl" }
    var gatewaySim: String { directory + "/gateway-sim" }

    static func besideSelf() -> Programs {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return Programs(directory: (exe as NSString).deletingLastPathComponent)
    }
}

/// The real gatewayd against gateway-sim and mosquitto: steady state, startup, and the WAL sync rhythm.
enum DaemonBench {
    static let devices = 100

    /// 100 pattern units × 20 points at 1 s: 12 holding points of every type and byte order, 8 input registers.
    static func configuration(dataDirectory: String, simulatorPort: Int, brokerPort: Int) -> String {
        var text = """
        [gateway]
        id = "gw-bench"
        data_dir = "\(dataDirectory)"

        [uplink]
        url = "mqtt://127.0.0.1:\(brokerPort)"
        topic_prefix = "bench"

        [[bus]]
        name = "plant"
        type = "modbus-tcp"
        host = "127.0.0.1"
        port = \(simulatorPort)
        timeout = "1s"

        """
        let holding: [(String, Int, String, String, String)] = [
            ("total_l", 0, "int32", "big", "big"), ("flow_m3h", 2, "float32", "big", "big"), ("delta", 4, "int32", "big", "big"),
            ("energy_wh", 6, "uint64", "big", "big"), ("reference", 10, "float64", "big", "big"), ("level", 14, "int16", "big", "big"),
            ("offset", 15, "int16", "big", "big"), ("flow_b", 16, "float32", "little", "big"), ("flow_c", 18, "float32", "big", "little"),
            ("flow_d", 20, "float32", "little", "little"), ("volume", 22, "uint32", "big", "big"), ("status", 30, "uint16", "big", "big"),
        ]
        for d in 1...devices {
            text += """

            [[device]]
            id = "meter-\(String(format: "%03d", d))"
            bus = "plant"
            unit_id = \(d)
            kind = "water_meter"
            interval = "1s"

            """
            for (name, address, type, word, byte) in holding {
                text += """
                  [[device.point]]
                  name = "\(name)"
                  table = "holding"
                  address = \(address)
                  type = "\(type)"
                  word_order = "\(word)"
                  byte_order = "\(byte)"

                """
            }
            for r in 0..<8 {
                text += """
                  [[device.point]]
                  name = "in\(r)"
                  table = "input"
                  address = \(r)
                  scale = 0.01

                """
            }
            text += """

            [[detector]]
            type = "range"
            device = "meter-\(String(format: "%03d", d))"
            point = "flow_m3h"
            min = 0.0
            max = 1000.0

            """
        }
        return text
    }

    struct Rig {
        let directory: String
        let broker: LocalBroker
        let simulator: ChildProgram
        let simulatorPort: Int
        let configPath: String
        var dataDirectory: String { directory + "/data" }
    }

    static func rig(programs: Programs) throws -> Rig {
        let dir = Scratch.directory("daemon")
        let broker = try LocalBroker(directory: dir)
        let port = freeLoopbackPort()
        let units = (1...devices).map { "\($0)=pattern" }.joined(separator: ",")
        let sim = try ChildProgram(programs.gatewaySim, ["modbus", "--tcp", "127.0.0.1:\(port)", "--units", units])
        guard sim.waitForLine(containing: "ready", timeout: 20) != nil else {
            throw BenchFailure("gateway-sim did not start: \(sim.output)")
        }
        let configPath = dir + "/gatewayd.toml"
        try configuration(dataDirectory: dir + "/data", simulatorPort: port, brokerPort: broker.port)
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        return Rig(directory: dir, broker: broker, simulator: sim, simulatorPort: port, configPath: configPath)
    }

    // MARK: Steady state

    static func steadyState(programs: Programs, seconds: Int, repeats: Int) throws -> [Figure] {
        var cpuPercent: [Double] = [], cpuPer1000: [Double] = [], rssSteady: [Double] = [], rssPeak: [Double] = []
        var completeness: [Double] = [], rate: [Double] = [], syncGaps: [Double] = [], syncRate: [Double] = [], unsyncedAge: [Double] = []
        var brokerPercent: [Double] = [], simPercent: [Double] = []
        var storedRate: [Double] = [], pssSteady: [Double] = [], ussSteady: [Double] = []
        var syncNote = "from strace -y -e pwrite64,fdatasync,fsync on gatewayd for 5 s after the measured window"
        for _ in 0..<repeats {
            let rig = try rig(programs: programs)
            defer { rig.simulator.terminate(); rig.broker.stop() }
            guard let address = BrokerAddress(url: rig.broker.url) else { throw BenchFailure("bad broker url") }
            let subscriber = try BrokerSubscription(broker: address, clientID: "bench-subscriber", filters: ["bench/gw-bench/data/#"])
            try subscriber.waitConnected(timeout: .seconds(10))
            let collector = SequenceCollector(subscription: subscriber)

            let daemon = try ChildProgram(programs.gatewayd, ["--config", rig.configPath])
            guard daemon.waitForLine(containing: "gatewayd started", timeout: 30) != nil else {
                throw BenchFailure("gatewayd did not start: \(daemon.output)")
            }
            let probe = ProcessProbe(pid: daemon.pid)
            // Let connections, SQLite caches and the first batches settle before measuring.
            Thread.sleep(forTimeInterval: 5)
            let c0 = probe.cpuMilliseconds() ?? 0
            let b0 = ProcessProbe(pid: rig.broker.pid).cpuMilliseconds() ?? 0
            let s0 = ProcessProbe(pid: rig.simulator.pid).cpuMilliseconds() ?? 0
            let seq0 = collector.maximum
            // The store's own seq counts what the gateway handled in the window exactly;
            // the subscriber's highest seq jitters with which device's batch came last.
            let stored0 = try lastSequence(bufferPath: rig.dataDirectory + "/buffer.sqlite")
            let t0 = monotonicSeconds()
            var samples: [Double] = [], pssSamples: [Double] = [], ussSamples: [Double] = []
            while monotonicSeconds() - t0 < Double(seconds) {
                Thread.sleep(forTimeInterval: 1)
                if let rss = probe.statusMegabytes("VmRSS") { samples.append(rss) }
                if let shares = probe.memoryShares() {
                    pssSamples.append(shares.proportional)
                    ussSamples.append(shares.unique)
                }
            }
            let elapsed = monotonicSeconds() - t0
            let cpu = (probe.cpuMilliseconds() ?? 0) - c0
            let storedInWindow = Double(try lastSequence(bufferPath: rig.dataDirectory + "/buffer.sqlite") - stored0)
            let brokerCPU = (ProcessProbe(pid: rig.broker.pid).cpuMilliseconds() ?? 0) - b0
            let simCPU = (ProcessProbe(pid: rig.simulator.pid).cpuMilliseconds() ?? 0) - s0
            let readingsInWindow = Double(collector.maximum - seq0)
            let peak = probe.statusMegabytes("VmHWM") ?? .nan

            // The WAL's fsync rhythm (durability = normal bounds a power cut's loss by it).
            switch walSyncs(pid: daemon.pid, seconds: 5) {
            case .success(let trace):
                syncGaps.append(trace.syncGaps.max() ?? .nan)
                syncRate.append(Double(trace.syncGaps.count + 1) / 5)
                unsyncedAge.append(trace.writeWaits.max() ?? .nan)
            case .failure(let why):
                syncNote = "strace unavailable: \(why.description); see docs/performance.md for the code path"
            }

            let status = daemon.terminate(timeout: 30)
            guard status == 0 else { throw BenchFailure("gatewayd exited \(status) at SIGTERM: \(daemon.output)") }
            collector.waitIdle(seconds: 1.5)
            collector.stop()
            let lastSeq = try lastSequence(bufferPath: rig.dataDirectory + "/buffer.sqlite")
            let received = collector.distinct(through: lastSeq)

            cpuPercent.append(cpu / (elapsed * 1000) * 100)
            cpuPer1000.append(storedInWindow > 0 ? cpu / storedInWindow * 1000 : .nan)
            storedRate.append(storedInWindow / elapsed)
            rssSteady.append(samples.sorted()[samples.count / 2])
            if !pssSamples.isEmpty {
                pssSteady.append(pssSamples.sorted()[pssSamples.count / 2])
                ussSteady.append(ussSamples.sorted()[ussSamples.count / 2])
            }
            rssPeak.append(peak)
            completeness.append(lastSeq == 0 ? 0 : Double(received) / Double(lastSeq) * 100)
            rate.append(readingsInWindow / elapsed)
            brokerPercent.append(brokerCPU / (elapsed * 1000) * 100)
            simPercent.append(simCPU / (elapsed * 1000) * 100)
            try? FileManager.default.removeItem(atPath: rig.directory)
        }
        let note = "\(devices) devices × 20 points at 1 s over Modbus TCP (gateway-sim), \(seconds) s window after 5 s warm-up"
        var figures = [
            Figure(suite: "steady state", name: "readings stored (offered: 2000)", unit: "readings/s", runs: storedRate, note: note),
            Figure(suite: "steady state", name: "readings delivered (subscriber's highest seq)", unit: "readings/s", runs: rate),
            Figure(suite: "steady state", name: "gatewayd CPU", unit: "% of one core", runs: cpuPercent, target: 2, higherIsBetter: false),
            Figure(suite: "steady state", name: "gatewayd CPU per 1000 readings", unit: "ms", runs: cpuPer1000, target: 44.0 / 5, higherIsBetter: false,
                   note: "per reading stored in the window; collectd 5.12: 44–57 ms; ThingsBoard IoT Gateway: 139–241 ms"),
            Figure(suite: "steady state", name: "gatewayd RSS steady (median VmRSS)", unit: "MB", runs: rssSteady, target: 16, higherIsBetter: false),
            Figure(suite: "steady state", name: "gatewayd RSS peak (VmHWM)", unit: "MB", runs: rssPeak, target: 16, higherIsBetter: false),
            Figure(suite: "steady state", name: "gatewayd PSS (shared pages divided among their users)", unit: "MB", runs: pssSteady, higherIsBetter: false),
            Figure(suite: "steady state", name: "gatewayd private memory (freed at exit)", unit: "MB", runs: ussSteady, higherIsBetter: false),
            Figure(suite: "steady state", name: "completeness at the subscriber", unit: "% of seq", runs: completeness, target: 100),
            Figure(suite: "steady state", name: "mosquitto CPU (context)", unit: "% of one core", runs: brokerPercent, higherIsBetter: false),
            Figure(suite: "steady state", name: "gateway-sim CPU (context)", unit: "% of one core", runs: simPercent, higherIsBetter: false),
        ]
        if !syncGaps.isEmpty {
            figures.append(Figure(suite: "durability normal", name: "longest a WAL write waited for its fsync", unit: "s", runs: unsyncedAge,
                                  target: 1.0, higherIsBetter: false,
                                  note: syncNote + "; what a power cut can take of committed records (records wait up to commit_max_delay before their commit)"))
            figures.append(Figure(suite: "durability normal", name: "longest gap between WAL fsyncs", unit: "s", runs: syncGaps,
                                  higherIsBetter: false, note: syncNote + "; a gap with no commit in it loses nothing"))
            figures.append(Figure(suite: "durability normal", name: "WAL fsyncs", unit: "per s", runs: syncRate, note: syncNote))
        } else {
            figures.append(Figure(suite: "durability normal", name: "longest a WAL write waited for its fsync", unit: "s", runs: [], note: syncNote))
        }
        return figures
    }

    /// What the WAL's syncs look like from outside: the gaps between syncs and, for
    /// every write to the WAL, how long it waited for the next sync (the writes
    /// after the last sync seen are left out: their sync fell after the trace).
    struct WALSyncTrace {
        var syncGaps: [Double]
        var writeWaits: [Double]
    }

    /// Traces `pid`'s writes and syncs of its `-wal` file for `seconds` (strace -y names each descriptor's file).
    static func walSyncs(pid: Int32, seconds: Double) -> Result<WALSyncTrace, BenchFailure> {
        guard let strace = findProgram("strace") else { return .failure(BenchFailure("strace is not installed")) }
        let out = Scratch.directory("strace") + "/trace"
        guard let tracer = try? ChildProgram(strace, ["-f", "-y", "-p", String(pid), "-e", "trace=pwrite64,fsync,fdatasync",
                                                      "-ttt", "-o", out]) else {
            return .failure(BenchFailure("cannot run strace"))
        }
        Thread.sleep(forTimeInterval: seconds)
        kill(tracer.pid, SIGINT)
        tracer.process.waitUntilExit()
        guard let text = try? String(contentsOfFile: out, encoding: .utf8) else {
            return .failure(BenchFailure("strace wrote nothing (ptrace not permitted?): \(tracer.output)"))
        }
        // "PID 1795365353.134425 fdatasync(22</data/buffer.sqlite-wal>) = 0"; a call another
        // thread interrupts is split into "… <unfinished ...>" and "<... resumed>": the first names the file.
        var syncs: [Double] = [], writes: [Double] = []
        for line in text.split(separator: "\n") where line.contains("-wal>") {
            let fields = line.split(separator: " ", maxSplits: 2)
            guard fields.count == 3, let t = Double(fields[1]) else { continue }
            if fields[2].hasPrefix("pwrite64(") { writes.append(t) }
            if fields[2].hasPrefix("fsync(") || fields[2].hasPrefix("fdatasync(") { syncs.append(t) }
        }
        syncs.sort()
        guard syncs.count >= 2 else { return .failure(BenchFailure("fewer than two WAL syncs seen in \(Int(seconds)) s")) }
        let waits = writes.compactMap { w in syncs.first(where: { $0 >= w }).map { $0 - w } }
        return .success(WALSyncTrace(syncGaps: zip(syncs.dropFirst(), syncs).map { $0 - $1 }, writeWaits: waits))
    }

    // MARK: Startup

    static func startup(programs: Programs, repeats: Int) throws -> [Figure] {
        let rig = try rig(programs: programs)
        defer { rig.simulator.terminate(); rig.broker.stop() }
        var fresh: [Double] = [], existing: [Double] = []
        for i in 0..<(repeats * 2) {
            // Even runs: a new data directory (first boot); odd runs: the buffer the previous run left.
            if i % 2 == 0 { try? FileManager.default.removeItem(atPath: rig.dataDirectory) }
            let daemon = try ChildProgram(programs.gatewayd, ["--config", rig.configPath])
            guard let started = daemon.waitForLine(containing: "gatewayd started", timeout: 30) else {
                throw BenchFailure("gatewayd did not start: \(daemon.output)")
            }
            let ms = (started - daemon.launchedAtSeconds) * 1000
            if i % 2 == 0 { fresh.append(ms) } else { existing.append(ms) }
            Thread.sleep(forTimeInterval: 0.3)
            daemon.terminate()
        }
        let note = "exec → log line `gatewayd started` (gatewayd does not send sd_notify READY=1 yet); 100 devices, broker up"
        return [
            Figure(suite: "startup", name: "to ready, new buffer", unit: "ms", runs: fresh, target: 200, higherIsBetter: false, note: note),
            Figure(suite: "startup", name: "to ready, existing buffer", unit: "ms", runs: existing, target: 200, higherIsBetter: false, note: note),
        ]
    }

    // MARK: Backtest

    static func backtest(programs: Programs, csv: String, config: String, repeats: Int) throws -> [Figure] {
        guard FileManager.default.fileExists(atPath: csv) else {
            throw BenchFailure("backtest: the leak-dev file \(csv) is absent (it comes with the shared leak-dev data set; pass --leak-dev-csv)")
        }
        guard FileManager.default.fileExists(atPath: config) else { throw BenchFailure("backtest: no detector config at \(config)") }
        var rates: [Double] = [], reported: [Double] = []
        var rows = 0
        for _ in 0..<repeats {
            let out = Scratch.directory("backtest") + "/alarms.jsonl"
            let t0 = monotonicSeconds()
            let ctl = try ChildProgram(programs.gatewayctl, ["detect", "--replay", csv, "--config", config, "--output", out])
            ctl.process.waitUntilExit()
            let seconds = monotonicSeconds() - t0
            guard ctl.process.terminationStatus == 0, ctl.waitForLine(containing: "replayed", timeout: 5) != nil else {
                throw BenchFailure("gatewayctl detect --replay failed (\(ctl.process.terminationStatus)): \(ctl.output)")
            }
            // "replayed N rows of P points in S s (R rows/s): ..."
            let words = ctl.output.split(separator: "\n").first { $0.hasPrefix("replayed") }?.split(separator: " ") ?? []
            rows = words.count > 1 ? Int(words[1]) ?? 0 : 0
            if let open = words.firstIndex(where: { $0.hasPrefix("(") }), let r = Double(words[open].dropFirst()) { reported.append(r) }
            rates.append(Double(rows) / seconds)
        }
        let name = (csv as NSString).lastPathComponent
        return [
            Figure(suite: "backtest", name: "detect --replay, exec to exit", unit: "rows/s", runs: rates, target: 2_000_000,
                   note: "\(rows) rows of \(name) with \((config as NSString).lastPathComponent); includes start, gunzip and output"),
            Figure(suite: "backtest", name: "detect --replay, as gatewayctl reports", unit: "rows/s", runs: reported, target: 2_000_000),
        ]
    }

    static func lastSequence(bufferPath: String) throws -> UInt64 {
        try BufferReaderAccess.lastSeq(path: bufferPath)
    }
}

/// Collects the `seq` of every reading a subscriber receives, on its own thread.
final class SequenceCollector: @unchecked Sendable {
    // Invariant: `seen`, `maxSeq`, `lastMessage` guarded by `lock`.
    private let lock = NSLock()
    private var seen = Set<UInt64>()
    private var maxSeq: UInt64 = 0
    private var lastMessage = monotonicSeconds()
    private var stopped = false
    private let subscription: BrokerSubscription
    private let done = DispatchSemaphore(value: 0)

    init(subscription: BrokerSubscription) {
        self.subscription = subscription
        seen.reserveCapacity(200_000)
        Thread.detachNewThread { [self] in loop() }
    }

    private func loop() {
        while !isStopped {
            guard let m = subscription.next(timeout: .milliseconds(200)) else { continue }
            lock.lock()
            scanSequenceNumbers(m.payload) { s in seen.insert(s); if s > maxSeq { maxSeq = s } }
            lastMessage = monotonicSeconds()
            lock.unlock()
        }
        done.signal()
    }

    private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }
    var maximum: UInt64 { lock.lock(); defer { lock.unlock() }; return maxSeq }

    func waitIdle(seconds: Double) {
        while true {
            lock.lock()
            let idle = monotonicSeconds() - lastMessage
            lock.unlock()
            if idle >= seconds { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    func stop() {
        lock.lock(); stopped = true; lock.unlock()
        done.wait()
        subscription.close()
    }

    func distinct(through last: UInt64) -> Int {
        lock.lock(); defer { lock.unlock() }
        return seen.filter { $0 >= 1 && $0 <= last }.count
    }
}
