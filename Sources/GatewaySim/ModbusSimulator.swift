#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `gateway-sim modbus`: one thread, one poll loop over stdin, the stop
/// signal, the TCP listener, its clients and every RTU pty. The simulator is a
/// test fixture: one thread keeps it simple and libmodbus needs nothing more.
final class ModbusSimulator {
    struct Settings {
        var tcp: (host: String, port: Int)?
        var rtuLinks: [String]
        var units: [(unitID: UInt8, kind: UnitKind)]
        var timeScale: Double
        var startEpochMilliseconds: Int64
        var seed: UInt64
        var leakAfterWallSeconds: Double?
        var leakFlowM3h: Double
        var answerUnknownTCPUnitsWithException: Bool
    }

    private let settings: Settings
    private let plant: ModbusPlant
    private let commands: ModbusConsoleCommands
    private let console = CommandConsole()
    private var tcpServer: ModbusTCPServer?
    private var rtuLines: [ModbusRTULine] = []
    private var automaticLeakDone = false

    init(settings: Settings) throws {
        self.settings = settings
        let clock = SimulatedClock(startEpochMilliseconds: settings.startEpochMilliseconds, timeScale: settings.timeScale)
        plant = ModbusPlant(units: settings.units, clock: clock, seed: settings.seed,
                            answerUnknownTCPUnitsWithException: settings.answerUnknownTCPUnitsWithException)
        commands = ModbusConsoleCommands(plant: plant, defaultLeakFlowM3h: settings.leakFlowM3h)
        if let tcp = settings.tcp {
            tcpServer = try ModbusTCPServer(host: tcp.host, port: tcp.port)
        }
        for link in settings.rtuLinks {
            rtuLines.append(try ModbusRTULine(link: link))
        }
    }

    /// Serves until `quit`, SIGTERM or SIGINT. Blocks the calling thread.
    func run() {
        StopSignal.install()
        var ready = ["ready"]
        if let tcpServer { ready.append("tcp=\(tcpServer.host):\(tcpServer.port)") }
        if !rtuLines.isEmpty { ready.append("rtu=" + rtuLines.map(\.terminal.link).joined(separator: ",")) }
        CommandConsole.say(ready.joined(separator: " "))

        var stop = false
        while !stop {
            startAutomaticLeakIfDue()
            var fds: [pollfd] = [pollfd(fd: StopSignal.readFD, events: Int16(POLLIN), revents: 0)]
            let consoleIndex = fds.count
            if !console.isClosed { fds.append(pollfd(fd: console.inputFD, events: Int16(POLLIN), revents: 0)) }
            let listenIndex = fds.count
            if let tcpServer { fds.append(pollfd(fd: tcpServer.listenFD, events: Int16(POLLIN), revents: 0)) }
            let clientsStart = fds.count
            let clients = tcpServer?.clientFDs ?? []
            for fd in clients { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            let rtuStart = fds.count
            for line in rtuLines { fds.append(pollfd(fd: line.terminal.masterFD, events: Int16(POLLIN), revents: 0)) }

            // Short waits only while a partial RTU frame could time out or a leak is due.
            let timeout: Int32 = rtuLines.contains(where: \.hasPartialFrame) ? 20 : 100
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n < 0 { continue }  // EINTR: a signal; the stop pipe says which
            let readable = Int16(POLLIN | POLLHUP | POLLERR)

            if fds[0].revents & readable != 0 {
                CommandConsole.note("stopping (SIGTERM/SIGINT)")
                break
            }
            if !console.isClosed, fds[consoleIndex].revents & readable != 0 {
                for line in console.readLines() {
                    let answer = commands.run(line, stop: &stop)
                    if !answer.isEmpty { CommandConsole.say(answer) }
                    if stop { break }
                }
                if stop { break }
            }
            if let tcpServer {
                if fds[listenIndex].revents & readable != 0 { tcpServer.acceptClients() }
                for (i, fd) in clients.enumerated() {
                    let events = fds[clientsStart + i].revents
                    if events & Int16(POLLIN) != 0 {
                        tcpServer.serve(clientFD: fd, plant: plant)
                    } else if events & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                        tcpServer.drop(fd)
                    }
                }
            }
            for (i, line) in rtuLines.enumerated() {
                if fds[rtuStart + i].revents & Int16(POLLIN) != 0 {
                    line.readAndServe(plant: plant)
                } else {
                    line.checkSilence(plant: plant)
                }
            }
        }
        // Links and sockets go with their owners.
        tcpServer = nil
        rtuLines.removeAll()
    }

    /// `--leak-after`: the leak starts at that wall offset, dated exactly in simulated time.
    private func startAutomaticLeakIfDue() {
        guard !automaticLeakDone, let after = settings.leakAfterWallSeconds else { return }
        guard plant.clock.elapsedWallSeconds() >= after else { return }
        automaticLeakDone = true
        let t = plant.clock.simulatedSeconds(afterWallSeconds: after)
        plant.startLeak(flowM3h: settings.leakFlowM3h, atSeconds: t)
        CommandConsole.note("leak started automatically: \(ModbusConsoleCommands.format(settings.leakFlowM3h)) m3/h")
    }
}
