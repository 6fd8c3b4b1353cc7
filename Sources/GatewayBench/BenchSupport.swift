import Foundation
import GatewayModel

#if canImport(Glibc)
import Glibc
#endif

/// Why a benchmark could not run: the message says what is missing or broke.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One figure measured over repeated runs.
struct Figure: Codable {
    var suite: String
    var name: String
    var unit: String
    /// Every run's value, in run order.
    var runs: [Double]
    /// The target from the performance issue, when there is one.
    var target: Double?
    /// Whether higher values are better (rates) or lower (costs, latencies).
    var higherIsBetter: Bool
    var note: String?

    var median: Double {
        let s = runs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    var minimum: Double { runs.min() ?? .nan }
    var maximum: Double { runs.max() ?? .nan }

    var meetsTarget: Bool? {
        guard let target else { return nil }
        return higherIsBetter ? median >= target : median <= target
    }

    enum CodingKeys: String, CodingKey { case suite, name, unit, runs, target, higherIsBetter, note, median, min, max, meetsTarget }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(suite, forKey: .suite)
        try c.encode(name, forKey: .name)
        try c.encode(unit, forKey: .unit)
        try c.encode(runs.map(Figure.finite), forKey: .runs)
        try c.encodeIfPresent(target, forKey: .target)
        try c.encode(higherIsBetter, forKey: .higherIsBetter)
        try c.encodeIfPresent(note, forKey: .note)
        try c.encode(Figure.finite(median), forKey: .median)
        try c.encode(Figure.finite(minimum), forKey: .min)
        try c.encode(Figure.finite(maximum), forKey: .max)
        try c.encodeIfPresent(meetsTarget, forKey: .meetsTarget)
    }

    init(from decoder: Decoder) throws { fatalError("results are written, never read back") }

    init(suite: String, name: String, unit: String, runs: [Double], target: Double? = nil, higherIsBetter: Bool = true, note: String? = nil) {
        self.suite = suite
        self.name = name
        self.unit = unit
        self.runs = runs
        self.target = target
        self.higherIsBetter = higherIsBetter
        self.note = note
    }

    private static func finite(_ d: Double) -> Double? { d.isFinite ? (d * 1000).rounded() / 1000 : nil }
}

/// CPU time of this process (user + system), in milliseconds.
func processCPUMilliseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec) / 1000
    let system = Double(usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_stime.tv_usec) / 1000
    return user + system
}

func monotonicSeconds() -> Double { Double(SystemClock.monotonicNow()) / 1e9 }

/// What /proc says about another process: CPU and memory.
struct ProcessProbe {
    let pid: Int32
    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// utime + stime in milliseconds (/proc/PID/stat fields 14 and 15).
    func cpuMilliseconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces) start at field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
        return (u + s) / ProcessProbe.ticksPerSecond * 1000
    }

    /// A `kB` line of /proc/PID/status (VmRSS, VmHWM), in MB.
    /// The process's memory by kind, from /proc/PID/smaps_rollup: `Pss` (its
    /// share of shared pages) and private pages (`Private_Clean + Private_Dirty`,
    /// what stopping it would free). RSS counts every shared library page whole.
    func memoryShares() -> (proportional: Double, unique: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { return nil }
        var pss = 0.0, privateKB = 0.0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kb = Double(parts[1]) else { continue }
            switch parts[0] {
            case "Pss:": pss = kb
            case "Private_Clean:", "Private_Dirty:": privateKB += kb
            default: break
            }
        }
        return (pss / 1024, privateKB / 1024)
    }

    func statusMegabytes(_ key: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Double(parts[1]) { return kb / 1024 }
        }
        return nil
    }
}

/// A child program with its stderr (and stdout) read line by line on a thread,
/// each line stamped with the monotonic time it arrived.
final class ChildProgram: @unchecked Sendable {
    // Invariant: `lines` is guarded by `lock`; the process object is used from the owner only.
    let process = Process()
    let name: String
    private let lock = NSCondition()
    private var lines: [(seconds: Double, text: String)] = []
    private(set) var launchedAtSeconds: Double = 0
    private let input = Pipe()

    init(_ path: String, _ arguments: [String], captureStdout: Bool = true) throws {
        name = (path as NSString).lastPathComponent
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchFailure("\(path) is missing or not executable (scripts/bench.sh builds it; or install it)")
        }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardInput = input
        var handles = [err.fileHandleForReading]
        if captureStdout {
            let out = Pipe()
            process.standardOutput = out
            handles.append(out.fileHandleForReading)
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        launchedAtSeconds = monotonicSeconds()
        try process.run()
        for h in handles {
            Thread.detachNewThread { [self] in readLines(h) }
        }
    }

    private func readLines(_ handle: FileHandle) {
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            let now = monotonicSeconds()
            pending.append(chunk)
            while let nl = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...nl)
                lock.lock()
                // Keep memory bounded on chatty children: the bench only looks for a few lines.
                if lines.count > 20_000 { lines.removeFirst(10_000) }
                lines.append((now, line))
                lock.broadcast()
                lock.unlock()
            }
        }
    }

    /// Waits for a line containing `fragment`; returns when it arrived (monotonic seconds).
    func waitForLine(containing fragment: String, timeout: Double) -> Double? {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let hit = lines.first(where: { $0.text.contains(fragment) }) { return hit.seconds }
            if !process.isRunning && lines.isEmpty { return nil }
            if !lock.wait(until: deadline) { return lines.first(where: { $0.text.contains(fragment) })?.seconds }
        }
    }

    var output: String {
        lock.lock()
        defer { lock.unlock() }
        return lines.suffix(40).map(\.text).joined(separator: "\n")
    }

    func send(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    var pid: Int32 { process.processIdentifier }

    /// SIGTERM, then SIGKILL if it does not exit within `timeout`.
    @discardableResult
    func terminate(timeout: Double = 15) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(pid, SIGKILL) } }
}

/// A real mosquitto on a free loopback port, like the tests use.
final class LocalBroker {
    let port: Int
    let directory: String
    private var child: ChildProgram?

    init(directory: String) throws {
        port = freeLoopbackPort()
        self.directory = directory
        let conf = directory + "/mosquitto.conf"
        let text = """
        \(geteuid() == 0 ? "user root" : "")
        persistence false
        log_dest stderr
        log_type error
        log_type warning
        max_inflight_messages 0
        max_queued_messages 0
        listener \(port) 127.0.0.1
        allow_anonymous true

        """
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        guard let mosquitto = findProgram("mosquitto") else {
            throw BenchFailure("mosquitto is not installed (apt-get install mosquitto; `make bench` does it)")
        }
        let c = try ChildProgram(mosquitto, ["-c", conf])
        child = c
        let deadline = Date().addingTimeInterval(10)
        while !portAcceptsConnections(port) {
            if !c.process.isRunning || Date() > deadline { throw BenchFailure("mosquitto did not start: \(c.output)") }
            usleep(20_000)
        }
    }

    var url: String { "mqtt://127.0.0.1:\(port)" }
    var pid: Int32 { child?.pid ?? 0 }

    func stop() {
        child?.terminate()
        child = nil
    }

    deinit { stop() }
}

func findProgram(_ name: String) -> String? {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"] {
        let p = dir + "/" + name
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { p in p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func portAcceptsConnections(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// A fresh directory under the system temporary directory (removed by `Scratch.removeAll`).
enum Scratch {
    static let root: String = {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/gateway-bench.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { fatalError("cannot create a temporary directory under \(base)") }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }()
    private static var counter = 0

    static func directory(_ name: String) -> String {
        counter += 1
        let path = "\(root)/\(counter)-\(name)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeAll() { try? FileManager.default.removeItem(atPath: root) }
}

/// The machine the figures were taken on.
struct MachineDescription: Codable {
    var cpuModel: String
    var cores: Int
    var memoryMegabytes: Int
    var kernel: String

    static func current() -> MachineDescription {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let memKB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MachineDescription(cpuModel: model, cores: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
                                  memoryMegabytes: memKB / 1024, kernel: release)
    }
}

/// Scans a data batch payload for its `"seq":N` values without a JSON parser
/// (the subscriber must keep up with the gateway on the same two cores).
func scanSequenceNumbers(_ payload: [UInt8], into body: (UInt64) -> Void) {
    let key: [UInt8] = Array("\"seq\":".utf8)
    var i = 0
    let n = payload.count
    while i + key.count < n {
        if payload[i] == key[0] && payload[i + 1] == key[1] && payload[i + 2] == key[2] && payload[i + 3] == key[3]
            && payload[i + 4] == key[4] && payload[i + 5] == key[5] {
            i += key.count
            var v: UInt64 = 0
            while i < n, payload[i] >= 0x30, payload[i] <= 0x39 { v = v * 10 + UInt64(payload[i] - 0x30); i += 1 }
            body(v)
        } else {
            i += 1
        }
    }
}
