#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `gateway-sim parking`: the concentrator, its stdin commands, one poll loop.
final class ParkingSimulator {
    static let help = "commands: set BAY STATE | heartbeat [BAY] | noise [on|off] | badsum [BAY] | partial [BAY] | drop BAY | unknown [BAY] | silence BAY | resume BAY | status | quit"
    static let defaultUnknownBay = "Z-999"

    private let concentrator: ParkingConcentrator
    private let console = CommandConsole()
    /// Counters of the ad-hoc detectors `unknown BAY` speaks for.
    private var unknownCounters: [String: UInt16] = [:]

    init(settings: ParkingConcentrator.Settings) throws {
        concentrator = try ParkingConcentrator(settings: settings)
    }

    /// Runs until `quit`, SIGTERM or SIGINT. Blocks the calling thread.
    func run() {
        StopSignal.install()
        concentrator.sendInitialStates()
        CommandConsole.say("ready pty=\(concentrator.link)")
        var stop = false
        while !stop {
            let timeout = concentrator.sendDue()
            var fds = [pollfd(fd: StopSignal.readFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: concentrator.masterFD, events: Int16(POLLIN), revents: 0)]
            if !console.isClosed { fds.append(pollfd(fd: console.inputFD, events: Int16(POLLIN), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), timeout) < 0 { continue }
            let readable = Int16(POLLIN | POLLHUP | POLLERR)
            if fds[0].revents & readable != 0 {
                CommandConsole.note("stopping (SIGTERM/SIGINT)")
                break
            }
            if fds[1].revents & Int16(POLLIN) != 0 { concentrator.discardInput() }
            if fds.count > 2, fds[2].revents & readable != 0 {
                for line in console.readLines() {
                    let answer = run(line, stop: &stop)
                    if !answer.isEmpty { CommandConsole.say(answer) }
                    if stop { break }
                }
            }
        }
    }

    /// One console line → one answer line.
    func run(_ line: String, stop: inout Bool) -> String {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first?.lowercased() else { return "" }
        let args = Array(words.dropFirst())
        let c = concentrator
        switch verb {
        case "set":
            guard args.count == 2 else { return "error usage: set BAY STATE (STATE 0 free, 1 occupied, 2 fault)" }
            guard let state = Int(args[1]), (0...2).contains(state) else {
                return "error state '\(args[1])' must be 0 (free), 1 (occupied) or 2 (detector fault)"
            }
            return withBay(args[0]) { i in
                c.bays[i].isSilent = false
                c.bays[i].state = state
                let counter = c.sendState(i)
                return "ok set \(c.bays[i].id) \(state) counter=\(counter)"
            }
        case "heartbeat":
            if args.isEmpty {
                let sent = c.bays.indices.filter { !c.bays[$0].isSilent }
                for i in sent { c.sendHeartbeat(i) }
                return "ok heartbeat \(sent.count) bays"
            }
            return withBay(args[0]) { i in "ok heartbeat \(c.bays[i].id) counter=\(c.sendHeartbeat(i))" }
        case "noise":
            switch args.first?.lowercased() {
            case nil: return "ok noise \(c.sendNoise()) bytes"
            case "on": c.setNoise(true); return "ok noise on"
            case "off": c.setNoise(false); return "ok noise off"
            default: return "error usage: noise [on|off]"
            }
        case "badsum", "partial":
            let spoil: ParkingConcentrator.Spoil = verb == "badsum" ? .badChecksum : .partial
            return withBay(args.first ?? c.bays[0].id) { i in
                "ok \(verb) \(c.bays[i].id) counter=\(c.sendHeartbeat(i, spoil: spoil))"
            }
        case "drop":
            guard args.count == 1 else { return "error usage: drop BAY" }
            return withBay(args[0]) { i in "ok drop \(c.bays[i].id) skipped=\(c.dropFrame(i))" }
        case "unknown":
            let id = args.first ?? ParkingSimulator.defaultUnknownBay
            guard CommandLineValues.isBayID(Substring(id)) else {
                return "error bay id '\(id)' must be 1-32 characters of A-Z a-z 0-9 _ -"
            }
            if let i = c.index(of: id), !c.bays[i].isUnknown {
                return "error bay \(id) is configured; give an id that is not in --bays"
            }
            if let i = c.index(of: id) {
                return "ok unknown \(id) counter=\(c.sendState(i))"
            }
            let counter = unknownCounters[id, default: 0]
            unknownCounters[id] = counter &+ 1
            c.writeRaw(ParkingFrame.state(bay: id, state: 1, batteryMillivolts: 3600, counter: counter))
            return "ok unknown \(id) counter=\(counter)"
        case "silence", "resume":
            guard args.count == 1 else { return "error usage: \(verb) BAY" }
            return withBay(args[0]) { i in
                c.bays[i].isSilent = verb == "silence"
                if verb == "resume" { c.sendHeartbeat(i) }
                return "ok \(verb) \(c.bays[i].id)"
            }
        case "status":
            let bays = c.bays.map { "\($0.id)=\($0.state)/\($0.nextCounter)" + ($0.isSilent ? "/silent" : "") }
            return "ok " + bays.joined(separator: " ")
        case "quit", "exit":
            stop = true
            return "ok quit"
        case "help":
            return "ok " + ParkingSimulator.help
        default:
            return "error unknown command '\(verb)'; " + ParkingSimulator.help
        }
    }

    private func withBay(_ id: String, _ body: (Int) -> String) -> String {
        guard let i = concentrator.index(of: id) else {
            let known = concentrator.bays.map(\.id).joined(separator: ",")
            return "error bay '\(id)' is not simulated (bays: \(known))"
        }
        return body(i)
    }
}
