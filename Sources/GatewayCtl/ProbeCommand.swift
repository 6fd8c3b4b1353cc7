import ArgumentParser
import ControlChannel
import Drivers
import GatewayConfig
import GatewayModel

/// `gatewayctl probe modbus|scan`: raw access for undocumented devices.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Read raw registers from a device, or find which units answer on a line.",
        subcommands: [ProbeModbus.self, ProbeScan.self]
    )
}

/// Where to probe: a TCP endpoint or a serial port with its settings.
struct ProbeTarget: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Modbus TCP device or gateway (port 502 when omitted).", valueName: "HOST[:PORT]"))
    var tcp: String?
    @Option(name: .long, help: ArgumentHelp("Modbus RTU serial port, e.g. /dev/ttyUSB0.", valueName: "DEVICE"))
    var rtu: String?
    @Option(name: .long, help: "RTU baud rate.")
    var baud: Int = 9600
    @Option(name: .long, help: ArgumentHelp("RTU parity.", valueName: "none|even|odd"))
    var parity: String = "none"
    @Option(name: .customLong("data-bits"), help: "RTU data bits.")
    var dataBits: Int = 8
    @Option(name: .customLong("stop-bits"), help: "RTU stop bits.")
    var stopBits: Int = 1
    @Option(name: .long, help: ArgumentHelp("How long to wait for an answer (default 1s TCP, 500ms RTU).", valueName: "DURATION"))
    var timeout: String?

    func validate() throws {
        if (tcp == nil) == (rtu == nil) { throw ValidationError("give exactly one of --tcp HOST[:PORT] or --rtu DEVICE") }
        if Parity(rawValue: parity) == nil { throw ValidationError("--parity '\(parity)': use none, even or odd") }
        if let timeout, ConfigUnits.duration(timeout) == nil {
            throw ValidationError("--timeout '\(timeout)': not a duration; write e.g. 500ms or 2s")
        }
        if let tcp, endpoint(tcp) == nil { throw ValidationError("--tcp '\(tcp)': write HOST or HOST:PORT, e.g. 192.0.2.10:502") }
    }

    private func endpoint(_ text: String) -> (String, Int)? {
        if let colon = text.lastIndex(of: ":"), !text.hasPrefix("[") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            let host = String(text[..<colon])
            return host.isEmpty ? nil : (host, port)
        }
        return text.isEmpty ? nil : (text, 502)
    }

    /// A bus configuration for the target (named after it, for messages).
    var bus: BusConfiguration {
        let t = timeout.flatMap(ConfigUnits.duration)
        if let tcp, let (host, port) = endpoint(tcp) {
            return BusConfiguration(name: "\(host):\(port)", type: .modbusTCP, host: host, port: port, timeout: t)
        }
        let device = rtu ?? ""
        return BusConfiguration(name: device, type: .modbusRTU, device: device, baud: baud, parity: Parity(rawValue: parity) ?? .none,
                                dataBits: dataBits, stopBits: stopBits, timeout: t)
    }
}

/// Talks to the target either directly or through the daemon that owns its line.
enum ProbeLine {
    case direct(ModbusProbe)
    case daemon(ControlClient, bus: String)

    /// Through the daemon when it runs and its config has a bus on the same line; otherwise opens the line.
    static func open(_ target: BusConfiguration, configPath: String) throws -> ProbeLine {
        if let c = try? ConfigReader.load(path: configPath), let owner = DaemonRoute.owningBus(of: target, in: c),
           let client = DaemonRoute.client(for: c) {
            if owner.type != .modbusRTU && owner.type != .modbusTCP {
                throw CtlFailure("gatewayd runs \(target.name) as a \(owner.type.rawValue) bus (\(owner.name)); it cannot be probed for Modbus while the daemon owns it")
            }
            return .daemon(client, bus: owner.name)
        }
        do {
            return .direct(try ModbusProbe(bus: target))
        } catch {
            throw CtlFailure("\(error)")
        }
    }

    func read(_ r: RegisterRequest) throws -> (RegisterResponse, Double) {
        switch self {
        case .direct(let probe):
            let started = SystemClock.monotonicNow()
            let answer = try probe.read(unit: r.unitID, table: r.table, address: r.address, count: r.count)
            return (answer, Double(SystemClock.monotonicNow() - started) / 1e6)
        case .daemon(let client, let bus):
            return try DaemonRoute.read(client, bus: bus, r)
        }
    }

    var via: String {
        switch self {
        case .direct: return "direct"
        case .daemon(let client, let bus): return "gatewayd bus \(bus) (control socket \(client.path))"
        }
    }
}

struct ProbeModbus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modbus",
        abstract: "Read raw registers and show them under every type and byte/word order.",
        discussion: """
        Reads COUNT registers (or bits) from one unit and prints them raw, then every register \
        and every register pair decoded as int16, uint16, int32, uint32 and float32 under the \
        four layouts ABCD (word_order big, byte_order big: the Modbus standard), CDAB (word_order \
        little), BADC (byte_order little) and DCBA (both little). Compare with the value the \
        device's display shows to find the point's type and orders for the config. Addresses are \
        0-based protocol addresses (register 40001 is holding address 0).

        When gatewayd runs and owns the same line (same device path or host:port in its config), \
        the read goes through the daemon's bus thread.
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var target: ProbeTarget
    @Option(name: .long, help: "Unit (slave) id, 0-255.")
    var unit: Int = 1
    @Option(name: .long, help: ArgumentHelp("Which table.", valueName: "holding|input|coil|discrete"))
    var table: String = "holding"
    @Option(name: .long, help: "First 0-based address.")
    var address: Int = 0
    @Option(name: .long, help: "Registers (1-125) or bits (1-2000) to read.")
    var count: Int = 2
    @Flag(name: .long, help: "Print JSON instead of tables.")
    var json = false

    func validate() throws {
        guard let t = RegisterTable(rawValue: table) else { throw ValidationError("--table '\(table)': use holding, input, coil or discrete") }
        guard (0...255).contains(unit) else { throw ValidationError("--unit \(unit): a unit id is 0-255") }
        guard (0...65535).contains(address) else { throw ValidationError("--address \(address): addresses are 0-65535") }
        let maxCount = t.isBits ? 2000 : 125
        guard (1...maxCount).contains(count) else { throw ValidationError("--count \(count): read 1-\(maxCount) \(t.isBits ? "bits" : "registers") at a time") }
        guard address + count <= 65536 else { throw ValidationError("--address \(address) --count \(count) runs past address 65535") }
    }

    struct Interpretation: Encodable {
        var address: Int
        var order: String
        var wordOrder: String
        var byteOrder: String
        var int16: Int16
        var uint16: UInt16
        var int32: Int32?
        var uint32: UInt32?
        var float32: Double?
    }

    struct Report: Encodable {
        var target: String
        var via: String
        var unit: Int
        var table: String
        var address: Int
        var latencyMilliseconds: Double
        var registers: [UInt16]?
        var bits: [Bool]?
        var interpretations: [Interpretation]?
    }

    func run() throws {
        let bus = target.bus
        let line = try ProbeLine.open(bus, configPath: common.config)
        let request = RegisterRequest(unitID: unit, table: RegisterTable(rawValue: table)!, address: address, count: count)
        let answer: RegisterResponse
        let latency: Double
        do {
            (answer, latency) = try line.read(request)
        } catch let e as CtlFailure {
            throw e
        } catch {
            throw CtlFailure("\(error)")
        }
        var report = Report(target: bus.name, via: line.via, unit: unit, table: table, address: address, latencyMilliseconds: latency)
        switch answer {
        case .bits(let b):
            report.bits = b
        case .registers(let r):
            report.registers = r
            report.interpretations = DecodingTable.interpretations(r).map {
                Interpretation(address: address + $0.index, order: $0.layout.rawValue, wordOrder: $0.layout.wordOrder.rawValue,
                               byteOrder: $0.layout.byteOrder.rawValue, int16: $0.int16, uint16: $0.uint16, int32: $0.int32,
                               uint32: $0.uint32, float32: finite($0.float32.map(Double.init)))
            }
        }
        if json { return try Console.json(report) }

        Console.out("unit \(unit) on \(bus.name), \(table) \(address)…\(address + count - 1), \(String(format: "%.1f", latency)) ms, via \(line.via)")
        Console.out("")
        if let bits = report.bits {
            var t = TextTable(["ADDRESS", "BIT"], rightAligned: [0, 1])
            for (i, b) in bits.enumerated() { t.add([String(address + i), b ? "1" : "0"]) }
            t.print()
            return
        }
        let regs = report.registers ?? []
        var raw = TextTable(["ADDRESS", "HEX", "UINT16", "INT16"], rightAligned: [0, 2, 3])
        for (i, r) in regs.enumerated() { raw.add([String(address + i), NumberText.hex(r), String(r), String(Int16(bitPattern: r))]) }
        raw.print()
        Console.out("")
        Console.out("decoded (32-bit columns use the register and the next one):")
        var t = TextTable(["ADDRESS", "ORDER", "WORD/BYTE", "INT16", "UINT16", "INT32", "UINT32", "FLOAT32"], rightAligned: [0, 3, 4, 5, 6, 7])
        for i in report.interpretations ?? [] {
            t.add([String(i.address), i.order, "\(i.wordOrder)/\(i.byteOrder)", String(i.int16), String(i.uint16),
                   i.int32.map { String($0) } ?? "-", i.uint32.map { String($0) } ?? "-", floatText(i.float32, present: i.int32 != nil)])
        }
        t.print()
        Console.out("")
        Console.out("ORDER → config: ABCD word_order=\"big\" byte_order=\"big\"; CDAB word_order=\"little\"; BADC byte_order=\"little\"; DCBA both \"little\"")
    }

    private func floatText(_ f: Double?, present: Bool) -> String {
        guard present else { return "-" }
        guard let f else { return "NaN/inf" }
        if f != 0, abs(f) < 1e-6 || abs(f) >= 1e12 { return String(format: "%.4g", f) }
        return NumberText.value(f)
    }
}

struct ProbeScan: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Find which unit ids answer on a line.",
        discussion: """
        Sends a one-register (or one-bit) read to every unit id in --units and lists those \
        that answer, with data or with a Modbus exception (either proves a device is there). \
        Each silent unit costs one --timeout, so keep the range and the timeout short. \
        When gatewayd runs and owns the line, the reads go through the daemon's bus thread.
        """
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup var target: ProbeTarget
    @Option(name: .long, help: ArgumentHelp("Unit ids to try.", valueName: "FIRST-LAST"))
    var units: String = "1-247"
    @Option(name: .long, help: ArgumentHelp("Table of the test read.", valueName: "holding|input|coil|discrete"))
    var table: String = "holding"
    @Option(name: .long, help: "Address of the test read.")
    var address: Int = 0
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    var range: ClosedRange<Int>? {
        let parts = units.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 1, let n = Int(parts[0]) { return n...n }
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a <= b else { return nil }
        return a...b
    }

    func validate() throws {
        guard let r = range, r.lowerBound >= 0, r.upperBound <= 255 else {
            throw ValidationError("--units '\(units)': write FIRST-LAST within 0-255, e.g. 1-247")
        }
        guard RegisterTable(rawValue: table) != nil else { throw ValidationError("--table '\(table)': use holding, input, coil or discrete") }
    }

    struct Found: Encodable {
        var unit: Int
        /// `data` or `exception 0x02 (…)`.
        var answer: String
    }

    struct Report: Encodable {
        var target: String
        var via: String
        var tried: String
        var found: [Found]
    }

    func run() throws {
        let bus = target.bus
        let line = try ProbeLine.open(bus, configPath: common.config)
        let t = RegisterTable(rawValue: table)!
        var found: [Found] = []
        for unit in range! {
            do {
                _ = try line.read(RegisterRequest(unitID: unit, table: t, address: address, count: 1))
                found.append(Found(unit: unit, answer: "data"))
            } catch ModbusError.exception(_, _, let code, let name) {
                found.append(Found(unit: unit, answer: "exception \(code) (\(name))"))
            } catch let e as DaemonReadError where e.modbusException != nil {
                found.append(Found(unit: unit, answer: "exception \(e.modbusException!) (\(ModbusError.exceptionName(e.modbusException!)))"))
            } catch let e as CtlFailure {
                throw e
            } catch ModbusError.connectionFailed(_, _, _, let reason) {
                throw CtlFailure("lost the connection to \(bus.name) while scanning: \(reason)")
            } catch {
                continue
            }
        }
        if json { return try Console.json(Report(target: bus.name, via: line.via, tried: units, found: found)) }
        if found.isEmpty {
            Console.out("no unit answered on \(bus.name) (units \(units), via \(line.via)) — check wiring, baud rate and parity")
            return
        }
        var table = TextTable(["UNIT", "ANSWER"], rightAligned: [0])
        for f in found { table.add([String(f.unit), f.answer]) }
        table.print()
        Console.out("\(found.count) unit\(found.count == 1 ? "" : "s") answered on \(bus.name) (units \(units), via \(line.via))")
    }
}
