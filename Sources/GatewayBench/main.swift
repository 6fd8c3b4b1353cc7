import ArgumentParser
import Foundation
import GatewayModel
import Logging

/// `gateway-bench`: what a reading costs and how fast a backlog drains.
/// `make bench` builds it in release mode and runs every suite; see bench/README.md.
struct GatewayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-bench",
        abstract: "Benchmarks for gatewayd: decode + store, drain, daemon steady state, backtest, startup, serial lines.",
        discussion: "Prints a table and writes JSON results. Suites: \(Suite.allCases.map(\.rawValue).joined(separator: ", ")).")

    enum Suite: String, CaseIterable, ExpressibleByArgument {
        case decodeStore = "decode-store", drain, steady, startup, backtest, rtu, parking
    }

    @Option(name: .long, parsing: .upToNextOption, help: "Suites to run (default: all).")
    var only: [Suite] = []

    @Option(name: .long, help: "Runs per short suite (each figure shows median, min and max over them).")
    var `repeat`: Int = 3

    @Option(name: .long, help: "Runs of the steady-state suite (each takes --steady-seconds + ~10 s).")
    var steadyRepeat: Int = 1

    @Option(name: .long, help: "Measured window of the steady-state suite, in seconds.")
    var steadySeconds: Int = 60

    @Option(name: .long, help: "Readings per decode + store run.")
    var decodeReadings: Int = 1_000_000

    @Option(name: .long, help: "Buffered readings per drain run.")
    var drainReadings: Int = 1_000_000

    @Option(name: .long, help: "The leak-dev replay file for the backtest.")
    var leakDevCsv: String = "../shared/leak-dev/ltown-2018/readings.csv.gz"

    @Option(name: .long, help: "The detector config for the backtest.")
    var backtestConfig: String = "detection-dev/ltown.toml"

    @Option(name: .long, help: "Where gatewayd, gatewayctl and gateway-sim are (default: beside this program).")
    var programs: String?

    @Option(name: .long, help: "Where to write the JSON results.")
    var output: String = "bench/results.json"

    @Option(name: .long, help: "Instead of benchmarking: profile gatewayd under callgrind and write the box build's function order here (scripts/order-file.sh).")
    var writeOrderFile: String?

    @Option(name: .long, help: "How long the order-file profile polls, in seconds.")
    var orderSeconds: Int = 60

    func validate() throws {
        guard `repeat` >= 1, steadyRepeat >= 1 else { throw ValidationError("--repeat and --steady-repeat must be at least 1") }
        guard steadySeconds >= 5 else { throw ValidationError("--steady-seconds must be at least 5") }
    }

    func run() throws {
        var logger = Logger(label: "bench")
        logger.logLevel = ProcessInfo.processInfo.environment["GATEWAY_BENCH_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        let programs = programs.map(Programs.init(directory:)) ?? Programs.besideSelf()
        if let writeOrderFile {
            try OrderFileProfile.write(programs: programs, seconds: orderSeconds, to: writeOrderFile)
            return
        }
        let suites = only.isEmpty ? Suite.allCases : only
        let machine = MachineDescription.current()
        print("gateway-bench on \(machine.cpuModel), \(machine.cores) cores, \(machine.memoryMegabytes) MB, Linux \(machine.kernel)")
        var figures: [Figure] = []
        var failures: [String] = []
        defer { Scratch.removeAll() }
        for suite in suites {
            let t0 = monotonicSeconds()
            print("running \(suite.rawValue)…", terminator: "")
            fflush(stdout)
            do {
                let new: [Figure]
                switch suite {
                case .decodeStore: new = try DecodeStoreBench.run(readings: decodeReadings, repeats: `repeat`, logger: logger)
                case .drain: new = try DrainBench.run(readings: drainReadings, repeats: `repeat`, logger: logger)
                case .steady: new = try DaemonBench.steadyState(programs: programs, seconds: steadySeconds, repeats: steadyRepeat)
                case .startup: new = try DaemonBench.startup(programs: programs, repeats: max(3, `repeat`))
                case .backtest: new = try DaemonBench.backtest(programs: programs, csv: leakDevCsv, config: backtestConfig, repeats: `repeat`)
                case .rtu: new = try LineBench.rtu(programs: programs, devices: 4, seconds: 3, repeats: `repeat`, logger: logger)
                case .parking: new = try LineBench.parking(frames: 20, repeats: `repeat`, logger: logger)
                }
                figures += new
                print(" \(String(format: "%.0f", monotonicSeconds() - t0)) s")
            } catch {
                print(" FAILED")
                failures.append("\(suite.rawValue): \(error)")
            }
        }
        print("")
        print(ResultsTable.render(figures))
        for f in failures { print("FAILED \(f)") }
        try ResultsTable.write(figures: figures, failures: failures, machine: machine, to: output)
        print("\nresults written to \(output)")
        if !failures.isEmpty { throw ExitCode(1) }
    }
}

/// The printed table and the JSON file.
enum ResultsTable {
    static func render(_ figures: [Figure]) -> String {
        let header = ["suite", "figure", "median", "min … max", "unit", "runs", "target", ""]
        var rows: [[String]] = [header]
        for f in figures {
            let target = f.target.map { (f.higherIsBetter ? "≥ " : "≤ ") + number($0) } ?? ""
            let verdict = f.meetsTarget.map { $0 ? "ok" : "MISS" } ?? ""
            rows.append([f.suite, f.name, f.runs.isEmpty ? "n/a" : number(f.median),
                         f.runs.isEmpty ? "" : "\(number(f.minimum)) … \(number(f.maximum))", f.unit, "\(f.runs.count)", target, verdict])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.enumerated().map { i, row in
            let line = row.enumerated().map { c, cell in
                c >= 2 && c <= 3 ? String(repeating: " ", count: widths[c] - cell.count) + cell
                    : cell + String(repeating: " ", count: widths[c] - cell.count)
            }.joined(separator: "  ")
            return i == 0 ? line + "\n" + String(repeating: "-", count: line.count) : line
        }.joined(separator: "\n")
    }

    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "n/a" }
        if abs(d) >= 10_000 { return String(format: "%.0f", d) }
        if abs(d) >= 100 { return String(format: "%.1f", d) }
        return String(format: "%.2f", d)
    }

    struct Results: Encodable {
        var generatedAt: String
        var machine: MachineDescription
        var figures: [Figure]
        var failures: [String]
    }

    static func write(figures: [Figure], failures: [String], machine: MachineDescription, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let stamp = ISO8601DateFormatter().string(from: Date())
        let data = try encoder.encode(Results(generatedAt: stamp, machine: machine, figures: figures, failures: failures))
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try data.write(to: URL(fileURLWithPath: path))
    }
}

GatewayBench.main()
