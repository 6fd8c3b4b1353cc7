import Foundation

/// Writes `packaging/gatewayd.order`, the list of every function gatewayd runs,
/// which the box build (scripts/release-build.sh) hands to lld so that they sit
/// side by side. The kernel maps code 64 KB at a time around each page touched;
/// with the functions scattered over 12 MB of code, a daemon that runs 1.2 MB of
/// it had 7 MB resident (docs/performance.md, "Memory").
///
/// The profile is the steady-state rig (100 devices × 20 points, range
/// detectors, a real mosquitto) run under callgrind, which names every function
/// executed at least once: start-up, polling, decoding, group commits,
/// detection, batching, PUBACKs, marking sent, then a clean stop.
enum OrderFileProfile {
    static func write(programs: Programs, seconds: Int, to path: String) throws {
        guard let valgrind = findProgram("valgrind") else { throw BenchFailure("valgrind is not installed (make deps installs it)") }
        guard let objcopy = findProgram("objcopy"), let nm = findProgram("nm") else { throw BenchFailure("binutils (objcopy, nm) are not installed") }
        let rig = try DaemonBench.rig(programs: programs)
        defer { rig.simulator.terminate(); rig.broker.stop() }

        // Valgrind cannot read the debug information lld writes; the function symbols are all it needs.
        let plain = rig.directory + "/gatewayd"
        try runTool(objcopy, ["--strip-debug", programs.gatewayd, plain])
        let profile = rig.directory + "/callgrind.out"
        let daemon = try ChildProgram(valgrind, ["--tool=callgrind", "--demangle=no", "--callgrind-out-file=\(profile)",
                                                 plain, "--config", rig.configPath])
        guard daemon.waitForLine(containing: "gatewayd started", timeout: 120) != nil else {
            throw BenchFailure("gatewayd did not start under valgrind: \(daemon.output)")
        }
        Thread.sleep(forTimeInterval: Double(seconds))
        let status = daemon.terminate(timeout: 120)
        guard status == 0 else { throw BenchFailure("gatewayd exited \(status) at SIGTERM under valgrind: \(daemon.output)") }

        let executed = try executedFunctions(callgrindOutput: profile)
        let defined = try definedFunctions(nm: nm, binary: programs.gatewayd)
        let order = executed.intersection(defined).sorted()
        guard order.count > 1000 else { throw BenchFailure("only \(order.count) functions profiled; did gatewayd run?") }
        let header = """
        # gatewayd's functions that run, for lld --symbol-ordering-file (scripts/release-build.sh).
        # Written by `gateway-bench --write-order-file` (scripts/order-file.sh); regenerate after
        # larger changes. A name that no longer exists is ignored, so a stale list only costs memory.

        """
        try (header + order.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        print("\(order.count) functions written to \(path)")
    }

    /// Every function name in a callgrind profile (`fn=` and `cfn=` lines name each once, then by number).
    static func executedFunctions(callgrindOutput path: String) throws -> Set<String> {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var names = Set<String>()
        for line in text.split(separator: "\n") where line.hasPrefix("fn=(") || line.hasPrefix("cfn=(") {
            guard let close = line.firstIndex(of: ")") else { continue }
            var name = line[line.index(after: close)...].drop(while: { $0 == " " })
            // Callgrind marks recursion depth as NAME'2.
            if let quote = name.lastIndex(of: "'"), name[name.index(after: quote)...].allSatisfy(\.isNumber) {
                name = name[..<quote]
            }
            if !name.isEmpty { names.insert(String(name)) }
        }
        return names
    }

    /// The code symbols the binary defines (nm types t, T, w, W).
    static func definedFunctions(nm: String, binary: String) throws -> Set<String> {
        var names = Set<String>()
        for line in try runTool(nm, ["--defined-only", binary]).split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 2)
            guard fields.count == 3, ["t", "T", "w", "W"].contains(fields[1]) else { continue }
            names.insert(String(fields[2]))
        }
        return names
    }

    @discardableResult
    static func runTool(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchFailure("\(path) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
