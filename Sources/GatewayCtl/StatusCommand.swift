import ArgumentParser
import ControlChannel
import GatewayModel

/// `gatewayctl status`: the running daemon's view of itself.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether gatewayd runs, its uplink, buses, devices, backlog and alarms.",
        discussion: """
        Asks the running daemon over its local control socket ([control] socket, default \
        {data_dir}/gatewayd.sock; mode 0660, so run as root or a member of the gatewayd group). \
        Exit 1 when the daemon is not running.
        """
    )

    @OptionGroup var common: CommonOptions
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let c = try common.load()
        let client = ControlClient(path: ControlSocketPath.path(for: c), timeoutSeconds: 10)
        let answer: ControlResponse
        do {
            answer = try client.send(.status)
        } catch let e as ControlChannelError {
            throw CtlFailure(e.description)
        }
        guard let s = answer.status else { throw CtlFailure(answer.error ?? "gatewayd sent no status") }
        if json { return try Console.json(s) }

        let now = s.nowMilliseconds
        Console.out("gatewayd \(s.version) (pid \(s.processID)), gateway \(s.gatewayID)")
        Console.out("up since    \(TimeText.both(s.startedAtMilliseconds)), \(TimeText.span(milliseconds: now - s.startedAtMilliseconds))")
        if let u = s.uplink {
            if u.connected {
                let since = u.connectedSinceMilliseconds.map { " for \(TimeText.span(milliseconds: now - $0))" } ?? ""
                Console.out("uplink      connected to \(u.broker)\(since), \(u.messagesInFlight) in flight, \(u.reconnects) reconnects")
            } else {
                let since = u.disconnectedSinceMilliseconds.map { " for \(TimeText.span(milliseconds: now - $0))" } ?? ""
                Console.out("uplink      NOT connected to \(u.broker)\(since)\(u.lastError.map { ": \($0)" } ?? "")")
            }
        } else {
            Console.out("uplink      none configured (buffer only)")
        }
        let age = s.oldestPendingMilliseconds.map { ", oldest \(TimeText.both($0)), \(TimeText.span(milliseconds: now - $0)) old" } ?? ""
        Console.out("backlog     \(s.pendingRecords) records pending\(age)")
        Console.out("buffer      \(s.bufferPath), store \(s.store), last seq \(s.lastSeq)\(s.diskFull ? ", DISK FULL (\(s.heldInMemory) held in memory)" : "")")
        Console.out("")
        var buses = TextTable(["BUS", "TYPE", "LINK", "BUSY", "ERRORS"], rightAligned: [3])
        for b in s.buses {
            let errors = b.counters.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            buses.add([b.name, b.type, b.connected ? "up" : "down", String(format: "%.0f %%", b.utilisation * 100), errors.isEmpty ? "-" : errors])
        }
        buses.print()
        Console.out("")
        var devices = TextTable(["DEVICE", "BUS", "STATE", "LAST GOOD POLL", "OK", "FAILED", "LAST ERROR"], rightAligned: [4, 5])
        for b in s.buses {
            for d in b.devices {
                let last = d.lastGoodPollMilliseconds.map { "\(TimeText.both($0)), \(TimeText.span(milliseconds: now - $0)) ago" } ?? "never"
                devices.add([d.id, b.name, d.state.rawValue, last, String(d.pollsOK), String(d.pollsFailed), d.lastError ?? "-"])
            }
        }
        devices.print()
        Console.out("")
        if s.activeAlarms.isEmpty {
            Console.out("no active alarms")
        } else {
            var alarms = TextTable(["SINCE", "SEVERITY", "TYPE", "DEVICE/POINT", "MESSAGE"])
            for a in s.activeAlarms {
                alarms.add([TimeText.both(a.raisedMilliseconds ?? a.changedMilliseconds), a.severity, a.type, "\(a.device)/\(a.point)", a.message])
            }
            alarms.print()
        }
    }
}
