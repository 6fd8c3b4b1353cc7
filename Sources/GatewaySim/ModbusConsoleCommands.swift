import Foundation

/// The stdin commands of `gateway-sim modbus`. Each returns the one line to
/// print (`ok ...` or `error ...`) and whether to stop.
struct ModbusConsoleCommands {
    static let help = "commands: leak on [SIZE_M3H] | leak off | mute UNIT | unmute UNIT | exception UNIT CODE | clear UNIT | garbage UNIT N | set UNIT TABLE ADDRESS VALUE | status | quit"

    let plant: ModbusPlant
    let defaultLeakFlowM3h: Double

    /// Runs one line. `quit` sets `stop`.
    func run(_ line: String, stop: inout Bool) -> String {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first?.lowercased() else { return "" }
        let args = Array(words.dropFirst())
        switch verb {
        case "leak":
            return leak(args)
        case "mute", "unmute":
            guard args.count == 1 else { return "error usage: \(verb) UNIT" }
            return withUnit(args[0]) { unit in
                unit.isMuted = verb == "mute"
                return "ok \(verb) \(unit.unitID)"
            }
        case "exception":
            guard args.count == 2 else { return "error usage: exception UNIT CODE (CODE 1-11, e.g. 2 illegal data address, 6 busy)" }
            guard let code = ModbusConsoleCommands.integer(args[1]), (1...11).contains(code) else {
                return "error exception code '\(args[1])' must be 1-11"
            }
            return withUnit(args[0]) { unit in
                unit.exceptionCode = UInt8(code)
                return "ok exception \(unit.unitID) code=\(code)"
            }
        case "clear":
            guard args.count == 1 else { return "error usage: clear UNIT" }
            return withUnit(args[0]) { unit in
                unit.clear()
                return "ok clear \(unit.unitID)"
            }
        case "garbage":
            guard args.count == 2 else { return "error usage: garbage UNIT N" }
            guard let n = ModbusConsoleCommands.integer(args[1]), n >= 0 else {
                return "error garbage count '\(args[1])' must be a whole number >= 0"
            }
            return withUnit(args[0]) { unit in
                unit.corruptResponsesLeft = n
                return "ok garbage \(unit.unitID) next=\(n)"
            }
        case "set":
            return set(args)
        case "status":
            return status()
        case "quit", "exit":
            stop = true
            return "ok quit"
        case "help":
            return "ok " + ModbusConsoleCommands.help
        default:
            return "error unknown command '\(verb)'; " + ModbusConsoleCommands.help
        }
    }

    private func leak(_ args: [String]) -> String {
        switch args.first?.lowercased() {
        case "on":
            guard args.count <= 2 else { return "error usage: leak on [SIZE_M3H]" }
            var flow = defaultLeakFlowM3h
            if args.count == 2 {
                guard let f = Double(args[1]), f.isFinite, f >= 0, f <= 10_000 else {
                    return "error leak size '\(args[1])' must be a flow in m3/h between 0 and 10000"
                }
                flow = f
            }
            plant.startLeak(flowM3h: flow, atSeconds: plant.clock.nowSeconds())
            return "ok leak on \(ModbusConsoleCommands.format(flow)) m3/h"
        case "off":
            guard args.count == 1 else { return "error usage: leak off" }
            plant.stopLeak()
            return "ok leak off"
        default:
            return "error usage: leak on [SIZE_M3H] | leak off"
        }
    }

    private func set(_ args: [String]) -> String {
        guard args.count == 4 else { return "error usage: set UNIT TABLE ADDRESS VALUE (TABLE holding|input|coil|discrete)" }
        guard let table = RegisterTable(rawValue: args[1].lowercased()) else {
            return "error table '\(args[1])' must be holding, input, coil or discrete"
        }
        guard let address = ModbusConsoleCommands.integer(args[2]) else {
            return "error address '\(args[2])' is not a number (0-based protocol address, decimal or 0x hex)"
        }
        guard let value = ModbusConsoleCommands.integer(args[3]), (0...0xFFFF).contains(value),
              !table.isBits || value <= 1 else {
            return table.isBits ? "error value '\(args[3])' must be 0 or 1 for a \(table.rawValue)"
                : "error value '\(args[3])' must be a raw 16-bit register 0-65535 (decimal or 0x hex)"
        }
        return withUnit(args[0]) { unit in
            let range = unit.mapping.layout.range(of: table)
            guard range.contains(address) else {
                let has = range.isEmpty ? "has no \(table.rawValue) table" : "has \(table.rawValue) \(range.lowerBound)-\(range.upperBound - 1)"
                return "error address \(address) is outside unit \(unit.unitID) (\(unit.kind.rawValue)), which \(has)"
            }
            unit.override(table, address: address, value: UInt16(value))
            return "ok set \(unit.unitID) \(table.rawValue) \(address) \(value)"
        }
    }

    private func status() -> String {
        let t = plant.clock.nowSeconds()
        let time = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t))
        let leak = plant.network.leak.map { "on:\(ModbusConsoleCommands.format($0.flowM3h))" } ?? "off"
        let units = plant.units.map { unit -> String in
            var faults: [String] = []
            if unit.isMuted { faults.append("muted") }
            if let code = unit.exceptionCode { faults.append("exception\(code)") }
            if unit.corruptResponsesLeft > 0 { faults.append("garbage\(unit.corruptResponsesLeft)") }
            return "\(unit.unitID):\(unit.kind.rawValue)" + (faults.isEmpty ? "" : "(" + faults.joined(separator: ",") + ")")
        }.joined(separator: ",")
        return "ok time=\(time) leak=\(leak) units=\(units) answered=\(plant.requestsAnswered) ignored=\(plant.requestsIgnored)"
    }

    private func withUnit(_ text: String, _ body: (SimulatedUnit) -> String) -> String {
        guard let id = ModbusConsoleCommands.integer(text), (0...255).contains(id), let unit = plant.unit(UInt8(id)) else {
            let known = plant.units.map { String($0.unitID) }.joined(separator: ",")
            return "error unit '\(text)' is not simulated (units: \(known))"
        }
        return body(unit)
    }

    /// Decimal or `0x` hex.
    static func integer(_ text: String) -> Int? {
        if text.lowercased().hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
        return Int(text)
    }

    static func format(_ value: Double) -> String {
        String(format: "%.1f", value)
    }
}

extension RegisterTable {
    var isBits: Bool { self == .coil || self == .discrete }
}
