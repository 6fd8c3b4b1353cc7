import ArgumentParser
import Foundation
import GatewayConfig
import GatewayModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A problem the user must fix (exit 1). The message says what and, where it can, how.
struct CtlFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Options every verb shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The gatewayd configuration file.", valueName: "FILE"))
    var config: String = "/etc/gatewayd/gatewayd.toml"

    /// Reads and validates the config; every problem becomes one `FILE:LINE: key: message` line.
    func load() throws -> GatewayConfiguration {
        do {
            return try ConfigReader.load(path: config)
        } catch let problems as ConfigProblems {
            throw CtlFailure(problems.description)
        }
    }
}

/// Writing to stdout/stderr, as lines.
enum Console {
    static func out(_ line: String) {
        print(line)
    }

    static func err(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Encodes `value` as one pretty JSON document on stdout (keys sorted, for stable diffs).
    static func json<T: Encodable>(_ value: T) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        out(String(decoding: try e.encode(value), as: UTF8.self))
    }

    /// One compact JSON line on stdout (JSON lines output).
    static func jsonLine<T: Encodable>(_ value: T) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        out(String(decoding: try e.encode(value), as: UTF8.self))
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}

/// Aligned text tables for human output.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned right (numbers).
    var rightAligned: Set<Int> = []

    init(_ headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        var widths = headers.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, c) in cells.enumerated() where i < widths.count {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                parts.append(rightAligned.contains(i) ? pad + c : (i == cells.count - 1 ? c : c + pad))
            }
            return parts.joined(separator: "  ")
        }
        var out = [line(headers)]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }

    func print() { Console.out(render()) }
}

/// Times as the CLI reads and shows them.
enum TimeText {
    /// `2025-06-02 14:03:05` local time.
    static func local(_ ms: Int64) -> String { format(ms, utc: false, "%Y-%m-%d %H:%M:%S") }

    /// `2025-06-02T12:03:05.123Z`.
    static func rfc3339(_ ms: Int64) -> String {
        format(ms, utc: true, "%Y-%m-%dT%H:%M:%S") + String(format: ".%03dZ", Int(((ms % 1000) + 1000) % 1000))
    }

    /// `2025-06-02 14:03:05 (12:03:05Z)`: local for the person, UTC for the logs and the broker.
    static func both(_ ms: Int64) -> String {
        "\(local(ms)) (\(format(ms, utc: true, "%H:%M:%SZ")))"
    }

    private static func format(_ ms: Int64, utc: Bool, _ pattern: String) -> String {
        var t = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        var parts = tm()
        if utc { gmtime_r(&t, &parts) } else { localtime_r(&t, &parts) }
        var buffer = [CChar](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, pattern, &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `3d 4h`, `5m 12s`, `800 ms`: how long something lasted.
    static func span(milliseconds ms: Int64) -> String {
        if ms < 1000 { return "\(max(ms, 0)) ms" }
        let s = ms / 1000
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86_400 { return "\(s / 3600)h \((s % 3600) / 60)m" }
        return "\(s / 86_400)d \((s % 86_400) / 3600)h"
    }

    /// Parses a time argument: RFC 3339 (`2025-06-02T12:00:00Z`, offsets and fractions allowed),
    /// epoch milliseconds, `now`, or `-DURATION` before now (`-2h`, `-30m`, `-7d`).
    static func parse(_ text: String, option: String, nowMilliseconds: Int64) throws -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "now" { return nowMilliseconds }
        if t.hasPrefix("-"), let d = ConfigUnits.duration(String(t.dropFirst())) { return nowMilliseconds - d.milliseconds }
        if !t.isEmpty, t.allSatisfy(\.isNumber), let ms = Int64(t) { return ms }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = plain.date(from: t) ?? fractional.date(from: t) {
            return Int64((d.timeIntervalSince1970 * 1000).rounded())
        }
        throw ValidationError("\(option) '\(text)': not a time; use RFC 3339 (2025-06-02T12:00:00Z), epoch milliseconds (1748865600000), now, or a duration before now (-2h, -30m, -7d)")
    }

    static func nowMilliseconds() -> Int64 { SystemClock().wallMilliseconds() }
}

/// Byte counts for people: `1.5 MB`.
enum SizeText {
    static func bytes(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(n)
        var i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }
}

/// Numbers for people: no trailing `.0` on integers, up to 6 significant decimals otherwise.
enum NumberText {
    static func value(_ d: Double?) -> String {
        guard let d else { return "-" }
        if !d.isFinite { return d.isNaN ? "NaN" : (d > 0 ? "inf" : "-inf") }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        var s = String(format: "%.6g", d)
        if s.contains("e") { return s }
        if s.contains(".") { while s.hasSuffix("0") { s.removeLast() } }
        return s
    }

    static func hex(_ r: UInt16) -> String {
        let h = String(r, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: 4 - h.count) + h
    }
}
