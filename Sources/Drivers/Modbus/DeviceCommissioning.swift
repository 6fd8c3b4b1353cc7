import GatewayModel

/// One point's result of a one-shot poll, for `gatewayctl poll`.
public struct PointPoll: Sendable, Equatable {
    public var device: String
    public var point: String
    /// The registers the value was decoded from (bits as 0/1); empty when the read failed.
    public var registers: [UInt16]
    public var value: Double?
    public var unit: String
    public var quality: Quality
    public var timestampMilliseconds: Int64
    /// Round trip of the request that carried this point.
    public var latencyMilliseconds: Double
    /// Why there is no value, in words (nil when good).
    public var error: String?
}

/// Commissioning without the daemon: open the bus, poll once, close.
public enum DeviceCommissioning {
    /// Polls every point of `device` once over a fresh connection to `bus`.
    /// Blocks the calling thread for the transactions (run it from the CLI's
    /// main thread, not from an async context). Point failures come back as
    /// `comm_error` entries with their error text.
    /// - Throws: `ModbusError.connectionFailed` when the port or host cannot be
    ///   opened; `notModbus` for a serial-line bus.
    public static func pollOnce(bus: BusConfiguration, device: DeviceConfiguration, clock: GatewayClock) throws -> [PointPoll] {
        let link = try ModbusLink(configuration: bus)
        try link.open()
        defer { link.close() }
        var map = DeviceReadMap(points: device.points)
        let result = DevicePoller.poll(link: link, device: device, map: &map, keepRegisters: true, clock: clock)
        let trusted = clock.isWallClockTrusted()
        return device.points.enumerated().map { i, point in
            let o = result.outcomes[i]
            return PointPoll(device: device.id, point: point.name, registers: o.registers, value: o.value, unit: point.unit,
                             quality: o.value == nil ? .commError : (trusted ? .good : .clockUnsynced),
                             timestampMilliseconds: o.timestampMilliseconds,
                             latencyMilliseconds: Double(o.latencyNanoseconds) / 1e6,
                             error: o.error?.description)
        }
    }
}

/// Raw access to one Modbus bus for `gatewayctl probe modbus`: the CLI owns
/// the connection outright (no daemon). Blocking; use from one thread.
public final class ModbusProbe {
    private let link: ModbusLink

    /// Opens the port or TCP connection.
    /// - Throws: `ModbusError.connectionFailed` (with the permission/unplugged hint), `notModbus`.
    public init(bus: BusConfiguration) throws {
        link = try ModbusLink(configuration: bus)
        try link.open()
    }

    /// Reads registers (holding/input) or bits (coil/discrete). Blocks for the transaction.
    public func read(unit: Int, table: RegisterTable, address: Int, count: Int) throws -> RegisterResponse {
        try link.perform(RegisterRequest(unitID: unit, table: table, address: address, count: count))
    }

    /// Reads holding or input registers.
    public func readRegisters(unit: Int, table: RegisterTable, address: Int, count: Int) throws -> [UInt16] {
        guard !table.isBits else { throw ModbusError.invalidRequest("\(table) is a bit table; read it with readBits") }
        return try link.readRegisters(unit: unit, table: table, address: address, count: count)
    }

    /// Reads coils or discrete inputs.
    public func readBits(unit: Int, table: RegisterTable, address: Int, count: Int) throws -> [Bool] {
        guard table.isBits else { throw ModbusError.invalidRequest("\(table) is a register table; read it with readRegisters") }
        return try link.readBits(unit: unit, table: table, address: address, count: count)
    }

    /// The unit ids in `units` that answer a one-register (or one-bit) read at
    /// `address`, with data or with a Modbus exception (either proves a device
    /// is there). Each silent unit costs one bus timeout.
    public func scan(units: ClosedRange<Int>, table: RegisterTable = .holding, address: Int = 0) -> [Int] {
        units.filter { unit in
            do {
                _ = try read(unit: unit, table: table, address: address, count: 1)
                return true
            } catch ModbusError.exception {
                return true
            } catch {
                if case ModbusError.connectionFailed? = error as? ModbusError { try? link.open() }
                return false
            }
        }
    }
}
