import ArgumentParser
import Detection
import GatewayConfig
import GatewayModel
import ReplayInput
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `gatewayctl detect --replay FILE.csv[.gz] --config F [--output FILE]`: the
/// configured detectors over a replay CSV, offline. Alarm transitions go to
/// stdout (or `--output`) as JSON lines, a summary to stderr. Exit 1 when the
/// config or the CSV is bad (the message says where), 0 otherwise.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Run the configured detectors offline over a replay CSV.",
        discussion: """
        The CSV has the header ts,device,point,value (ts as epoch milliseconds or RFC 3339), \
        rows in time order; a gzip file is read as such. The config needs only [gateway] id \
        and the [[detector]] entries. Alarm transitions are printed as JSON lines: \
        ts, device, point, type, state, value, message, id, severity.
        """
    )

    @Option(name: .long, help: "The replay CSV (plain or gzip).")
    var replay: String

    @Option(name: .long, help: "The configuration file.")
    var config: String = "/etc/gatewayd/gatewayd.toml"

    @Option(name: .long, help: "Write the JSON lines to this file instead of stdout.")
    var output: String?

    func run() throws {
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigReader.load(path: config, purpose: .replay)
        } catch let problems as ConfigProblems {
            fail(problems.description)
        }
        if configuration.detectors.isEmpty {
            fail("\(config): no [[detector]] configured; nothing to replay")
        }
        guard let sink = LineSink(path: output) else {
            fail("\(output ?? "-"): cannot write: \(String(cString: strerror(errno)))")
        }
        let summary: ReplaySummary
        do {
            summary = try ReplayRun.run(csvPath: replay, detectors: configuration.detectors) { sink.write($0) }
        } catch let error as ReplayInputError {
            sink.close()
            fail(error.description)
        } catch let error as DetectorConfigurationError {
            sink.close()
            fail("\(config): \(error.description)")
        }
        guard sink.close() else { fail("\(output ?? "stdout"): write failed: \(String(cString: strerror(errno)))") }
        for detector in summary.unresolvedDetectors {
            printError("warning: \(detector): no such device/point in \(replay); this detector saw nothing")
        }
        printError("replayed \(summary.rows) rows of \(summary.points) points in \(formatSeconds(summary.seconds)) s "
            + "(\(Int(summary.rowsPerSecond)) rows/s): \(summary.raised) alarms raised, \(summary.cleared) cleared")
    }
}

private func fail(_ message: String) -> Never {
    printError("error: " + message)
    exit(1)
}

private func printError(_ line: String) {
    fputs(line + "\n", stderr)
}

private func formatSeconds(_ s: Double) -> String {
    let tenths = (s * 10).rounded() / 10
    return "\(tenths)"
}

/// Buffered line output to stdout or a file (JSON lines can be many; one write per line would dominate the replay).
private final class LineSink {
    private let file: UnsafeMutablePointer<FILE>
    private let ownsFile: Bool
    private var failed = false

    init?(path: String?) {
        if let path {
            guard let f = fopen(path, "w") else { return nil }
            file = f
            ownsFile = true
        } else {
            file = stdout
            ownsFile = false
        }
    }

    func write(_ line: String) {
        if fputs(line, file) < 0 || fputc(0x0A, file) < 0 { failed = true }
    }

    @discardableResult
    func close() -> Bool {
        if fflush(file) != 0 { failed = true }
        if ownsFile && fclose(file) != 0 { failed = true }
        return !failed
    }
}
