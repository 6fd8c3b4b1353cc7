import ArgumentParser
import ControlChannel
import Drivers
import GatewayModel

/// `gatewayctl poll`: one round over every configured Modbus device.
struct PollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Poll every configured device once and print the decoded readings.",
        discussion: """
        For commissioning: one round over every Modbus device in the config, printing per point \
        the raw registers, the decoded value with its unit, the quality and the latency. \
        Works without the daemon. When gatewayd runs, every read goes through the daemon's bus \
        owner instead (never two masters on one RS-485 line). Devices on serial-line buses push \
        their frames on their own and are not polled; see `buffer tail` for them. \
        Exit 1 when a point could not be read (its error says why).
        """
    )

    @OptionGroup var common: CommonOptions
    @Option(name: .long, help: ArgumentHelp("Only this device (repeatable).", valueName: "ID"))
    var device: [String] = []
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    struct Row: Encodable {
        var device: String
        var point: String
        var registers: [UInt16]
        var value: Double?
        var unit: String
        var quality: String
        var latencyMilliseconds: Double
        var timestampMilliseconds: Int64
        var error: String?
    }

    struct Report: Encodable {
        var via: String
        var rows: [Row]
        var skipped: [String]
    }

    func run() throws {
        let c = try common.load()
        let unknown = device.filter { d in !c.devices.contains { $0.id == d } }
        if !unknown.isEmpty {
            throw CtlFailure("no device \(unknown.joined(separator: ", ")) in \(common.config) (devices: \(c.devices.map(\.id).joined(separator: ", ")))")
        }
        let devices = c.devices.filter { device.isEmpty || device.contains($0.id) }
        let daemon = DaemonRoute.client(for: c)
        var rows: [Row] = []
        var skipped: [String] = []
        for d in devices {
            guard let bus = c.buses.first(where: { $0.name == d.bus }) else { continue }
            if bus.type == .serialLine {
                skipped.append(d.id)
                continue
            }
            if let daemon {
                rows += pollThroughDaemon(daemon, bus: bus, device: d)
            } else {
                rows += pollDirectly(bus: bus, device: d)
            }
        }
        let via = daemon.map { "gatewayd (control socket \($0.path))" } ?? "direct"
        if json {
            try Console.json(Report(via: via, rows: rows, skipped: skipped))
        } else {
            var t = TextTable(["DEVICE", "POINT", "REGISTERS", "VALUE", "UNIT", "QUALITY", "LATENCY"], rightAligned: [3, 6])
            for r in rows {
                t.add([r.device, r.point, r.registers.map(NumberText.hex).joined(separator: " "), NumberText.value(r.value),
                       r.unit, r.quality, String(format: "%.1f ms", r.latencyMilliseconds)])
            }
            t.print()
            for r in rows where r.error != nil { Console.out("\(r.device)/\(r.point): \(r.error!)") }
            for s in skipped { Console.out("\(s): on a serial-line bus; its detectors push frames on their own (see `gatewayctl buffer tail --device \(s)`)") }
            Console.out(daemon == nil ? "polled directly (gatewayd is not running)" : "polled through the running gatewayd (\(via))")
        }
        let failed = rows.filter { $0.error != nil }.count
        if failed > 0 {
            throw CtlFailure("\(failed) of \(rows.count) points could not be read")
        }
    }

    private func pollDirectly(bus: BusConfiguration, device d: DeviceConfiguration) -> [Row] {
        do {
            return try DeviceCommissioning.pollOnce(bus: bus, device: d, clock: SystemClock()).map {
                Row(device: $0.device, point: $0.point, registers: $0.registers, value: finite($0.value), unit: $0.unit,
                    quality: $0.quality.name, latencyMilliseconds: $0.latencyMilliseconds,
                    timestampMilliseconds: $0.timestampMilliseconds, error: $0.error)
            }
        } catch {
            let now = TimeText.nowMilliseconds()
            return d.points.map {
                Row(device: d.id, point: $0.name, registers: [], value: nil, unit: $0.unit, quality: Quality.commError.name,
                    latencyMilliseconds: 0, timestampMilliseconds: now, error: "\(error)")
            }
        }
    }

    /// The daemon's bus thread does the reads; the decoding is the same as its polls.
    private func pollThroughDaemon(_ client: ControlClient, bus: BusConfiguration, device d: DeviceConfiguration) -> [Row] {
        var rows = [Row?](repeating: nil, count: d.points.count)
        let trusted = SystemClock().isWallClockTrusted()
        for block in ReadPlan.coalesced(d.points).blocks {
            let request = RegisterRequest(unitID: d.unitID, table: block.table, address: block.address, count: block.count)
            let now = TimeText.nowMilliseconds()
            do {
                let (answer, latency) = try DaemonRoute.read(client, bus: bus.name, request)
                for i in block.pointIndexes {
                    let p = d.points[i]
                    let offset = p.address - block.address
                    var regs: [UInt16] = []
                    var value: Double?
                    switch answer {
                    case .registers(let r):
                        let span = ReadPlan.span(of: p)
                        guard offset + span <= r.count else { continue }
                        regs = Array(r[offset..<(offset + span)])
                        value = RegisterDecoder.value(r[offset..<(offset + span)], point: p)
                    case .bits(let b):
                        guard offset < b.count else { continue }
                        regs = [b[offset] ? 1 : 0]
                        value = RegisterDecoder.value(bit: b[offset], point: p)
                    }
                    rows[i] = Row(device: d.id, point: p.name, registers: regs, value: finite(value), unit: p.unit,
                                  quality: (trusted ? Quality.good : .clockUnsynced).name, latencyMilliseconds: latency,
                                  timestampMilliseconds: now, error: nil)
                }
            } catch {
                for i in block.pointIndexes {
                    rows[i] = Row(device: d.id, point: d.points[i].name, registers: [], value: nil, unit: d.points[i].unit,
                                  quality: Quality.commError.name, latencyMilliseconds: 0, timestampMilliseconds: now,
                                  error: "\(error)")
                }
            }
        }
        return rows.compactMap { $0 }
    }
}

/// JSON has no NaN or infinity: such values print as null.
func finite(_ d: Double?) -> Double? {
    guard let d, d.isFinite else { return nil }
    return d
}
