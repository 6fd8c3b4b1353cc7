import ArgumentParser

/// `gateway-sim`: device simulators for tests and demos.
struct SimulatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-sim",
        abstract: "Simulated field devices for gatewayd: Modbus TCP/RTU meters and sensors, and a parking concentrator.",
        discussion: """
        Both simulators print one line `ready ...` on stdout once they listen,
        then read commands on stdin, one per line, and answer each with exactly
        one line `ok ...` or `error ...`. EOF on stdin does not stop them;
        `quit`, SIGTERM or SIGINT does. Register maps and commands: see
        `gateway-sim modbus --help`, `gateway-sim parking --help` and
        Sources/GatewaySim/README.md.
        """,
        subcommands: [ModbusCommand.self, ParkingCommand.self])
}

struct ModbusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modbus",
        abstract: "Serve simulated Modbus units over TCP and/or RTU on pseudo-terminals.",
        discussion: """
        UNITS (--units, default 1=electricity,2=water,3=pressure,9=pattern)
          electricity  Eastron SDM120 input registers, float32 ABCD:
                       0x0000 V, 0x0006 A, 0x000C W, 0x0012 VA, 0x001E pf,
                       0x0046 Hz, 0x0048 import kWh, 0x004A export kWh (0),
                       0x0156 total kWh; SDM630 extras 0x0002/0x0004 V,
                       0x0008/0x000A A, 0x000E/0x0010 W, 0x0034 total W.
          water        holding 0-1 flow m3/h float32 ABCD, 2-3 volume litres
                       uint32, 4 status (0 ok), 10-11 flow float32 CDAB.
          pressure     input 0 pressure 0.01 bar int16, 1 loop current uA
                       uint16 (4000-20000 = 0-10 bar), 2 temperature 0.1 C.
          pattern      fixed contents for decoder tests; accepts writes.
          watermeter-ultrad
                       Dynaflox ultraD water meter (profile dynaflox-ultrad):
                       holding 0-16, int32 high word first: 0 flow L/h,
                       2 forward m3, 4 forward mL, 6/8 reverse m3/mL (0),
                       10 run time s, 12 fault time s (0), 14 battery mV,
                       16 error code (0).
          ai-adam4017  Advantech ADAM-4017+ (profile adam-4017-4-20ma-0-10bar):
                       holding 0-7 channel counts, 0-65535 = 4-20 mA; a 0-10
                       bar transmitter on channel 0 following the water
                       network's pressure, 1-7 unwired (0); 200-207 range
                       code 7 (4-20 mA).
        Addresses outside a map answer exception 0x02; writes to units other
        than pattern answer 0x01. Unknown unit ids get no answer.

        COMMANDS (stdin, one per line; each answered `ok ...` or `error ...`)
          leak on [SIZE_M3H]    start a leak on every water unit
          leak off              stop it
          mute UNIT             the unit stops answering (unmute UNIT: back)
          exception UNIT CODE   answer every request with exception CODE 1-11
          garbage UNIT N        corrupt the next N responses
                                (RTU: bad CRC; TCP: bad MBAP identifiers)
          set UNIT TABLE ADDRESS VALUE
                                pin a raw 16-bit value until `clear`
                                (TABLE holding|input|coil|discrete)
          clear UNIT            faults off, pins gone, pattern restored
          status                simulated time, leak, units and faults
          quit                  stop
        """)

    @Option(name: .customLong("tcp"), help: ArgumentHelp("Serve Modbus TCP on HOST:PORT (IPv4; port 0 picks a free port, shown in the ready line).", valueName: "HOST:PORT"))
    var tcp: String?

    @Option(name: .customLong("rtu-pty"), help: ArgumentHelp("Create a pseudo-terminal, link LINK to its slave and serve Modbus RTU on it. Repeatable.", valueName: "LINK"))
    var rtuLinks: [String] = []

    @Option(name: .customLong("units"), help: ArgumentHelp("Which units exist and what they are.", valueName: "SPEC"))
    var units: String = "1=electricity,2=water,3=pressure,9=pattern"

    @Option(name: .customLong("tcp-unknown-unit"), help: ArgumentHelp("What TCP requests for unknown unit ids get: silent (no answer) or exception (0x0B).", valueName: "silent|exception"))
    var tcpUnknownUnit: String = "silent"

    @Option(name: .customLong("time-scale"), help: "Simulated time runs this many times faster than wall time.")
    var timeScale: Double = 1

    @Option(name: .customLong("start-time"), help: ArgumentHelp("Simulated start: ISO 8601 (2025-06-02T00:00:00Z) or epoch milliseconds. Default: now.", valueName: "TIME"))
    var startTime: String?

    @Option(name: .customLong("seed"), help: "Seed of every random choice (noise), for repeatable runs.")
    var seed: UInt64 = 1

    @Option(name: .customLong("leak-after"), help: ArgumentHelp("Start a leak automatically after this much wall time (e.g. 90s).", valueName: "DURATION"))
    var leakAfter: String?

    @Option(name: .customLong("leak-size"), help: ArgumentHelp("Leak flow in m3/h for --leak-after and `leak on` without a size.", valueName: "M3H"))
    var leakSize: Double = WaterNetworkModel.defaultLeakFlowM3h

    func validate() throws {
        guard timeScale.isFinite, timeScale > 0, timeScale <= 1_000_000 else {
            throw ValidationError("--time-scale must be a number above 0 (and at most 1000000), e.g. 60 for an hour per minute")
        }
        guard leakSize.isFinite, leakSize >= 0, leakSize <= 10_000 else {
            throw ValidationError("--leak-size must be a flow in m3/h between 0 and 10000")
        }
        guard tcpUnknownUnit == "silent" || tcpUnknownUnit == "exception" else {
            throw ValidationError("--tcp-unknown-unit must be 'silent' or 'exception', not '\(tcpUnknownUnit)'")
        }
        guard tcp != nil || !rtuLinks.isEmpty else { throw ValidationError(SimulatorError.nothingToServe.description) }
        do {
            if let tcp { _ = try CommandLineValues.endpoint(tcp) }
            _ = try CommandLineValues.units(units)
            if let startTime { _ = try CommandLineValues.epochMilliseconds(startTime) }
            if let leakAfter, CommandLineValues.seconds(leakAfter) == nil {
                throw SimulatorError.badDuration(option: "--leak-after", text: leakAfter)
            }
        } catch let error as SimulatorError {
            throw ValidationError(error.description)
        }
        guard Set(rtuLinks).count == rtuLinks.count else { throw ValidationError("--rtu-pty: the same link is given twice") }
    }

    func run() throws {
        let settings = ModbusSimulator.Settings(
            tcp: try tcp.map(CommandLineValues.endpoint),
            rtuLinks: rtuLinks,
            units: try CommandLineValues.units(units),
            timeScale: timeScale,
            startEpochMilliseconds: try startTime.map(CommandLineValues.epochMilliseconds) ?? SimulatedClock.wallEpochMilliseconds(),
            seed: seed,
            leakAfterWallSeconds: leakAfter.flatMap(CommandLineValues.seconds),
            leakFlowM3h: leakSize,
            answerUnknownTCPUnitsWithException: tcpUnknownUnit == "exception")
        try ModbusSimulator(settings: settings).run()
    }
}

struct ParkingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parking",
        abstract: "Push parking detector frames ($PKD/$PKH) down a pseudo-terminal, like a concentrator.",
        discussion: """
        Frames (interface.md), each ended by CR LF:
          $PKD,<bay>,<state>,<battery_mV>,<counter>*HH
          $PKH,<bay>,<battery_mV>,<rssi_dBm>,<counter>*HH
        On start every bay sends its state; then each sends a heartbeat every
        --heartbeat and bays change state at random (--change-rate). Each
        detector's counter goes up by one per frame it sends, spoilt or lost
        frames included.

        COMMANDS (stdin, one per line; each answered `ok ...` or `error ...`)
          set BAY STATE     change to STATE (0 free, 1 occupied, 2 fault), send
          heartbeat [BAY]   a heartbeat now (every bay if none given)
          noise [on|off]    random bytes + CR LF now, or after every frame
          badsum [BAY]      a heartbeat now with a wrong checksum
          partial [BAY]     a heartbeat cut in the middle (then CR LF)
          drop BAY          the bay's next frame is lost (counter skips)
          unknown [BAY]     a frame from a bay not configured (default Z-999)
          silence BAY       the detector goes quiet, its counter stops
          resume BAY        it comes back with a heartbeat
          status            every bay as BAY=STATE/NEXT_COUNTER
          quit              stop
        """)

    @Option(name: .customLong("pty"), help: ArgumentHelp("Create a pseudo-terminal and link LINK to its slave.", valueName: "LINK"))
    var link: String

    @Option(name: .customLong("bays"), help: ArgumentHelp("Bay ids, comma separated; A-001..A-008 style ranges allowed.", valueName: "LIST"))
    var bays: String = "A-001..A-008"

    @Option(name: .customLong("heartbeat"), help: ArgumentHelp("Heartbeat period of every detector.", valueName: "DURATION"))
    var heartbeat: String = "60s"

    @Option(name: .customLong("change-rate"), help: ArgumentHelp("Random occupancy changes per minute over the whole row (0: none).", valueName: "PER_MIN"))
    var changeRate: Double = 2

    @Option(name: .customLong("seed"), help: "Seed of every random choice, for repeatable runs.")
    var seed: UInt64 = 1

    @Option(name: .customLong("first-counter"), help: "Counter of each detector's first frame (65534 shows the wrap soon).")
    var firstCounter: UInt16 = 0

    @Flag(name: .customLong("noise"), help: "Write a burst of random bytes (ended by CRLF) after every frame.")
    var noise = false

    @Option(name: .customLong("badsum-every"), help: ArgumentHelp("Every Nth frame goes out with a wrong checksum.", valueName: "N"))
    var badsumEvery: Int?

    @Option(name: .customLong("partial-every"), help: ArgumentHelp("Every Nth frame is cut in the middle.", valueName: "N"))
    var partialEvery: Int?

    @Option(name: .customLong("drop-every"), help: ArgumentHelp("Every Nth frame is lost (its counter value never arrives).", valueName: "N"))
    var dropEvery: Int?

    @Option(name: .customLong("unknown-bay"), help: ArgumentHelp("An extra, unconfigured detector that also sends heartbeats. Repeatable.", valueName: "BAY"))
    var unknownBays: [String] = []

    @Option(name: .customLong("silent"), help: ArgumentHelp("A configured bay that starts silent. Repeatable.", valueName: "BAY"))
    var silentBays: [String] = []

    func validate() throws {
        let bayList: [String]
        do { bayList = try CommandLineValues.bays(bays) } catch let error as SimulatorError {
            throw ValidationError(error.description)
        }
        guard let seconds = CommandLineValues.seconds(heartbeat), seconds >= 0.01 else {
            throw ValidationError("--heartbeat '\(heartbeat)' must be a duration of at least 10ms (e.g. 60s)")
        }
        guard changeRate.isFinite, changeRate >= 0, changeRate <= 60_000 else {
            throw ValidationError("--change-rate must be changes per minute, 0 or more")
        }
        for (name, value) in [("--badsum-every", badsumEvery), ("--partial-every", partialEvery), ("--drop-every", dropEvery)] {
            if let value, value < 1 { throw ValidationError("\(name) must be 1 or more") }
        }
        for id in unknownBays {
            guard CommandLineValues.isBayID(Substring(id)) else {
                throw ValidationError("--unknown-bay '\(id)': a bay id is 1-32 characters of A-Z a-z 0-9 _ -")
            }
            guard !bayList.contains(id) else { throw ValidationError("--unknown-bay \(id) is also in --bays") }
        }
        for id in silentBays where !bayList.contains(id) {
            throw ValidationError("--silent \(id) is not in --bays")
        }
    }

    func run() throws {
        let settings = ParkingConcentrator.Settings(
            link: link, bays: try CommandLineValues.bays(bays),
            heartbeatSeconds: CommandLineValues.seconds(heartbeat) ?? 60,
            changesPerMinute: changeRate, seed: seed, firstCounter: firstCounter, noise: noise,
            badChecksumEvery: badsumEvery, partialEvery: partialEvery, dropEvery: dropEvery,
            unknownBays: Array(Set(unknownBays)).sorted(), silentBays: silentBays)
        try ParkingSimulator(settings: settings).run()
    }
}
