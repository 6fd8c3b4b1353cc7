import ArgumentParser
import BufferStore
import GatewayModel

/// `gatewayctl alarms`: active and recent alarms from the buffer.
struct AlarmsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alarms",
        abstract: "Show active and recent alarms.",
        discussion: """
        Reads the buffer's alarm table (each alarm's latest transition) over a read-only \
        connection; works with or without the daemon. --active keeps only raised alarms; \
        --since keeps those raised or cleared at or after a time (RFC 3339, epoch ms, or -2h).
        """
    )

    @OptionGroup var common: CommonOptions
    @Flag(name: .long, help: "Only alarms that are raised now.")
    var active = false
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Only alarms changed since this time.", valueName: "TIME"))
    var since: String?
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let c = try common.load()
        let sinceMs = try since.map { try TimeText.parse($0, option: "--since", nowMilliseconds: TimeText.nowMilliseconds()) }
        let rows = try BufferAccess.read(c) { try $0.alarms(activeOnly: active, sinceMilliseconds: sinceMs) }
        if json { return try Console.json(rows.map { r -> AlarmRow in var r = r; r.value = finite(r.value); return r }) }
        if rows.isEmpty {
            Console.out(active ? "no active alarms" : "no alarms\(since.map { " since \($0)" } ?? "")")
            return
        }
        var t = TextTable(["STATE", "CHANGED", "SEVERITY", "TYPE", "DEVICE/POINT", "VALUE", "MESSAGE"], rightAligned: [5])
        for a in rows {
            t.add([a.state, TimeText.both(a.changedMilliseconds), a.severity, a.type, "\(a.device)/\(a.point)",
                   NumberText.value(a.value), a.message])
        }
        t.print()
    }
}

/// `gatewayctl audit`: who changed what.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit log of actions that changed something (purge, resend, reload).",
        discussion: "Newest first: when, which user (uid and name), what, and how many rows."
    )

    @OptionGroup var common: CommonOptions
    @Option(name: [.customShort("n"), .long], help: "Show at most this many entries.")
    var limit: Int = 100
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let c = try common.load()
        let rows = try BufferAccess.read(c) { try $0.audit(limit: max(1, limit)) }
        if json { return try Console.json(rows) }
        if rows.isEmpty { return Console.out("the audit log is empty") }
        var t = TextTable(["WHEN", "USER", "ACTION", "ROWS", "WHAT"], rightAligned: [3])
        for r in rows { t.add([TimeText.both(r.atMilliseconds), "\(r.user) (\(r.uid))", r.action, String(r.rows), r.detail]) }
        t.print()
    }
}

/// Opening the buffer for the CLI, with the errors turned into messages.
enum BufferAccess {
    static func read<T>(_ c: GatewayConfiguration, _ body: (BufferReader) throws -> T) throws -> T {
        do {
            let reader = try BufferReader(path: c.gateway.bufferPath)
            return try body(reader)
        } catch let e as StoreError {
            throw CtlFailure(e.description)
        }
    }
}
