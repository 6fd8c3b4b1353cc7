import ArgumentParser
import BufferStore
import Foundation
import GatewayModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `gatewayctl buffer stats|tail|export|purge|check`.
struct BufferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "buffer",
        abstract: "Inspect, export and maintain the SQLite buffer.",
        discussion: """
        Readers use their own read-only connection (WAL): they never block gatewayd's writer and \
        see the last commit. Times (TIME) are RFC 3339 (2025-06-02T12:00:00Z), epoch milliseconds, \
        now, or a duration before now (-2h, -30m, -7d).
        """,
        subcommands: [BufferStatsCommand.self, BufferTail.self, BufferExport.self, BufferPurge.self, BufferCheck.self]
    )
}

struct BufferStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Rows pending and sent, oldest pending, database size, evicted ranges."
    )

    @OptionGroup var common: CommonOptions
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    struct Report: Encodable {
        var stats: BufferStats
        var gaps: [GapRow]
    }

    func run() throws {
        let c = try common.load()
        let (stats, gaps) = try BufferAccess.read(c) { (try $0.stats(), try $0.gaps(limit: 20)) }
        if json { return try Console.json(Report(stats: stats, gaps: gaps)) }
        let now = TimeText.nowMilliseconds()
        Console.out("buffer        \(stats.path)")
        Console.out("store         \(stats.store)")
        Console.out("pending       \(stats.pendingRecords) records")
        Console.out("sent          \(stats.sentRecords) records (kept until retention removes them)")
        if let seq = stats.oldestPendingSeq, let ts = stats.oldestPendingMilliseconds {
            Console.out("oldest unsent seq \(seq), \(TimeText.both(ts)), \(TimeText.span(milliseconds: now - ts)) old")
        } else {
            Console.out("oldest unsent none: everything is sent")
        }
        Console.out("last seq      \(stats.lastSeq)")
        Console.out("size          \(SizeText.bytes(stats.databaseBytes)) on disk (with WAL), \(SizeText.bytes(stats.usedBytes)) in use")
        Console.out("evicted       \(stats.gapRecords) records in \(stats.gapRanges) ranges (\(stats.unannouncedGapRanges) not yet announced on gaps)")
        if !gaps.isEmpty {
            Console.out("")
            var t = TextTable(["FROM SEQ", "TO SEQ", "RECORDS", "REASON", "WHEN", "ANNOUNCED"], rightAligned: [0, 1, 2])
            for g in gaps { t.add([String(g.from), String(g.to), String(g.count), g.reason, TimeText.both(g.atMilliseconds), g.announced ? "yes" : "no"]) }
            t.print()
        }
    }
}

/// Filters shared by tail and export.
struct RecordSelection: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Only this device.", valueName: "ID"))
    var device: String?
    @Option(name: .long, help: ArgumentHelp("Only this point.", valueName: "NAME"))
    var point: String?
}

struct BufferTail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Show the newest records, optionally following new ones.",
        discussion: "Readings, events and alarms in seq order. --json prints one JSON object per line."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var selection: RecordSelection
    @Option(name: .customShort("n"), help: "How many records.")
    var count: Int = 20
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Only records stamped at or after this time.", valueName: "TIME"))
    var since: String?
    @Flag(name: .long, help: "Keep printing new records as gatewayd commits them (Ctrl-C stops).")
    var follow = false
    @Flag(name: .long, help: "Print JSON lines instead of a table.")
    var json = false

    func run() throws {
        let c = try common.load()
        guard count >= 0 else { throw ValidationError("-n \(count): give a count of 0 or more") }
        var filter = RecordFilter(device: selection.device, point: selection.point)
        filter.sinceMilliseconds = try since.map { try TimeText.parse($0, option: "--since", nowMilliseconds: TimeText.nowMilliseconds()) }
        try BufferAccess.read(c) { reader in
            let rows = try reader.tail(filter, limit: count)
            var last = try rows.last?.seq ?? reader.lastSeq()
            if json {
                for r in rows { try Console.jsonLine(ExportRow(r)) }
            } else {
                var t = TextTable(["SEQ", "TIME", "DEVICE", "POINT", "VALUE", "UNIT", "QUALITY", "SENT"], rightAligned: [0, 4])
                for r in rows { t.add(RecordText.cells(r)) }
                if !follow || !rows.isEmpty { t.print() }
            }
            guard follow else { return }
            while true {
                fflush(stdout)
                usleep(500_000)
                filter.afterSeq = last
                try reader.forEachRecord(filter) { r in
                    if json { try Console.jsonLine(ExportRow(r)) } else { Console.out(RecordText.cells(r).joined(separator: "  ")) }
                    last = r.seq
                    return true
                }
            }
        }
    }
}

/// A record as `--json` and `export --format jsonl` write it.
struct ExportRow: Encodable {
    var seq: UInt64
    var ts: Int64
    var kind: String
    var device: String
    var point: String
    var value: Double?
    var unit: String
    var quality: String
    var sent: Bool
    var detail: String?

    init(_ r: RecordRow) {
        seq = r.seq
        ts = r.timestampMilliseconds
        kind = r.kind
        device = r.device
        point = r.point
        value = finite(r.value)
        unit = r.unit
        quality = r.quality
        sent = r.sent
        detail = r.detail.map { "{\($0)}" }
    }
}

enum RecordText {
    static func cells(_ r: RecordRow) -> [String] {
        [String(r.seq), TimeText.both(r.timestampMilliseconds), r.device, r.point,
         r.kind == "reading" ? NumberText.value(r.value) : "\(r.kind) \(NumberText.value(r.value))", r.unit, r.quality, r.sent ? "yes" : "no"]
    }

    /// One CSV field: quoted when it holds a comma, quote or newline.
    static func csv(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

struct BufferExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export readings as CSV or JSON lines, streaming.",
        discussion: """
        CSV has the replay header ts,device,point,value (ts in epoch milliseconds; an empty value \
        is a reading without one, e.g. comm_error) followed by quality,seq, so the export can be \
        fed back to `gatewayctl detect --replay` (use --replay-columns for a reader that takes \
        exactly four columns). JSON lines carry seq, ts, device, point, value, unit, quality, sent. \
        Readings and events are exported; alarm records are shown by `alarms`. \
        The export reads one consistent snapshot in seq order and never loads it all into memory; \
        gatewayd keeps writing meanwhile. On a terminal, a progress bar shows on stderr.
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var selection: RecordSelection
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Only records stamped at or after this time.", valueName: "TIME"))
    var from: String?
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Only records stamped before this time.", valueName: "TIME"))
    var to: String?
    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "csv|jsonl"))
    var format: String = "csv"
    @Option(name: .long, help: ArgumentHelp("Write to this file instead of stdout.", valueName: "FILE"))
    var output: String?
    @Flag(name: .customLong("replay-columns"), help: "CSV with only ts,device,point,value.")
    var replayColumns = false

    func validate() throws {
        guard format == "csv" || format == "jsonl" else { throw ValidationError("--format '\(format)': use csv or jsonl") }
    }

    func run() throws {
        let c = try common.load()
        let now = TimeText.nowMilliseconds()
        let filter = RecordFilter(device: selection.device, point: selection.point,
                                  sinceMilliseconds: try from.map { try TimeText.parse($0, option: "--from", nowMilliseconds: now) },
                                  untilMilliseconds: try to.map { try TimeText.parse($0, option: "--to", nowMilliseconds: now) })
        guard let file = output.map({ fopen($0, "w") }) ?? stdout else {
            throw CtlFailure("cannot write \(output ?? "-"): \(String(cString: strerror(errno)))")
        }
        let showProgress = Console.stderrIsTerminal && (output != nil || !Console.stdoutIsTerminal)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var written: Int64 = 0
        try BufferAccess.read(c) { reader in
            let total = showProgress ? try reader.countRecords(filter) : 0
            var progress = ProgressBar(total: total)
            if format == "csv" { fputs(replayColumns ? "ts,device,point,value\n" : "ts,device,point,value,quality,seq\n", file) }
            try reader.forEachRecord(filter) { r in
                if r.kind == "alarm" { return true }
                if format == "csv" {
                    var line = "\(r.timestampMilliseconds),\(RecordText.csv(r.device)),\(RecordText.csv(r.point)),\(r.value.flatMap(finite).map(JSONText.number) ?? "")"
                    if !replayColumns { line += ",\(r.quality),\(r.seq)" }
                    fputs(line + "\n", file)
                } else {
                    var bytes = Array(try encoder.encode(ExportRow(r)))
                    bytes.append(0x0A)
                    fwrite(bytes, 1, bytes.count, file)
                }
                written += 1
                if showProgress { progress.advance(to: written) }
                return true
            }
            if showProgress { progress.finish() }
        }
        let flushed = fflush(file) == 0 && ferror(file) == 0
        if output != nil { fclose(file) }
        guard flushed else { throw CtlFailure("writing \(output ?? "stdout") failed: \(String(cString: strerror(errno)))") }
        if output != nil || !Console.stdoutIsTerminal {
            Console.err("exported \(written) records\(output.map { " to \($0)" } ?? "")")
        }
    }
}

/// A one-line progress bar on stderr, redrawn at most every whole percent.
struct ProgressBar {
    let total: Int64
    private var shownPercent = -1

    init(total: Int64) { self.total = total }

    mutating func advance(to done: Int64) {
        guard total > 0 else { return }
        let percent = Int(min(100, done * 100 / total))
        guard percent != shownPercent else { return }
        shownPercent = percent
        let width = 40
        let filled = width * percent / 100
        fputs("\r[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] \(percent)% \(done)/\(total)", stderr)
    }

    func finish() { fputs("\n", stderr) }
}

struct BufferPurge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Remove sent records before a time (asks for --yes; audited).",
        discussion: """
        Shows what it would remove and changes nothing unless --yes is given. Only records the \
        broker has acknowledged (--sent) can be purged, so nothing unsent is ever lost this way. \
        Deletes in short transactions with a busy timeout while gatewayd runs, and writes what it \
        did (when, who, how many rows) to the audit log (`gatewayctl audit`).
        """
    )

    @OptionGroup var common: CommonOptions
    @Flag(name: .long, help: "Purge records already sent (required: the only kind that can be purged).")
    var sent = false
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Only records stamped before this time.", valueName: "TIME"))
    var before: String
    @Flag(name: .long, help: "Really remove them.")
    var yes = false
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        guard sent else { throw ValidationError("say what to purge: --sent (records the broker acknowledged)") }
    }

    struct Report: Encodable {
        var plan: PurgePlan
        var removed: Int64?
        var applied: Bool
    }

    func run() throws {
        let c = try common.load()
        let now = TimeText.nowMilliseconds()
        let beforeMs = try TimeText.parse(before, option: "--before", nowMilliseconds: now)
        do {
            let maintenance = try BufferMaintenance(path: c.gateway.bufferPath)
            let plan = try maintenance.planPurgeSent(beforeMilliseconds: beforeMs)
            if !json {
                if let first = plan.firstSeq, let last = plan.lastSeq, let oldest = plan.oldestMilliseconds, let newest = plan.newestMilliseconds {
                    Console.out("would remove \(plan.records) sent records stamped before \(TimeText.both(beforeMs)):")
                    Console.out("  seq \(first)…\(last), from \(TimeText.both(oldest)) to \(TimeText.both(newest))")
                } else {
                    Console.out("no sent records stamped before \(TimeText.both(beforeMs)); nothing to remove")
                }
            }
            guard yes else {
                if json { return try Console.json(Report(plan: plan, removed: nil, applied: false)) }
                if plan.records > 0 { Console.out("nothing changed; run again with --yes to remove them") }
                return
            }
            let removed = try maintenance.purgeSent(plan, actor: .current, nowMilliseconds: TimeText.nowMilliseconds())
            if json { return try Console.json(Report(plan: plan, removed: removed, applied: true)) }
            Console.out("removed \(removed) records (recorded in the audit log)")
        } catch let e as StoreError {
            throw CtlFailure(e.description)
        }
    }
}

struct BufferCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the buffer database's integrity (SQLite integrity_check).",
        discussion: "Reads the whole file; exit 1 when SQLite finds damage (the problems are listed)."
    )

    @OptionGroup var common: CommonOptions
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    struct Report: Encodable {
        var path: String
        var ok: Bool
        var problems: [String]
    }

    func run() throws {
        let c = try common.load()
        let result = try BufferAccess.read(c) { try $0.integrityCheck() }
        let ok = result == ["ok"]
        if json {
            try Console.json(Report(path: c.gateway.bufferPath, ok: ok, problems: ok ? [] : result))
        } else if ok {
            Console.out("\(c.gateway.bufferPath): ok")
        } else {
            for p in result { Console.out(p) }
        }
        if !ok { throw CtlFailure("the buffer \(c.gateway.bufferPath) is damaged (\(result.count) problems); stop gatewayd, keep a copy, and let it start a new store") }
    }
}
