import GatewayModel

/// What went wrong talking Modbus, in words a field technician can act on.
public enum ModbusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The unit did not answer within the bus `timeout`.
    case timeout(bus: String, unit: Int, timeoutMilliseconds: Int64)
    /// The unit answered with a Modbus exception (code 1–11).
    case exception(bus: String, unit: Int, code: Int, name: String)
    /// The port or TCP connection could not be opened, or broke. `errno` is the system error.
    case connectionFailed(bus: String, target: String, errno: Int32, reason: String)
    /// The answer was garbled: bad CRC, wrong length, wrong function (noise, two masters, wrong baud).
    case invalidResponse(bus: String, unit: Int, reason: String)
    /// A different unit answered than the one asked (address clash or echo on the line).
    case badUnitID(bus: String, unit: Int)
    /// A request that cannot be sent: bad unit id, address or count.
    case invalidRequest(String)
    /// The bus has stopped (daemon shutting down); the request was not sent.
    case busStopped(bus: String)
    /// Too many ad-hoc requests are already waiting for this bus.
    case busBusy(bus: String, queued: Int)
    /// The bus is not a Modbus bus (e.g. a serial-line parking bus).
    case notModbus(bus: String, type: String)

    public var description: String {
        switch self {
        case let .timeout(bus, unit, ms):
            return "no answer from unit \(unit) on \(bus) within \(ms) ms"
        case let .exception(bus, unit, code, name):
            return "unit \(unit) on \(bus) answered with exception \(String(format2: code)) (\(name))"
        case let .connectionFailed(bus, target, _, reason):
            return "cannot connect to \(target) for \(bus): \(reason)"
        case let .invalidResponse(bus, unit, reason):
            return "bad answer from unit \(unit) on \(bus): \(reason)"
        case let .badUnitID(bus, unit):
            return "a different unit answered the request for unit \(unit) on \(bus) (two devices with the same unit id?)"
        case let .invalidRequest(message):
            return message
        case let .busStopped(bus):
            return "bus \(bus) is stopped; request not sent"
        case let .busBusy(bus, queued):
            return "bus \(bus) is busy: \(queued) requests already waiting, try again"
        case let .notModbus(bus, type):
            return "bus \(bus) is a \(type) bus; raw register requests need a Modbus bus"
        }
    }

    /// A Modbus exception code's standard name.
    public static func exceptionName(_ code: Int) -> String {
        switch code {
        case 1: return "illegal function"
        case 2: return "illegal data address: the register is not mapped in this device"
        case 3: return "illegal data value"
        case 4: return "server device failure"
        case 5: return "acknowledge"
        case 6: return "server device busy"
        case 7: return "negative acknowledge"
        case 8: return "memory parity error"
        case 10: return "gateway path unavailable"
        case 11: return "gateway target device failed to respond"
        default: return "unknown exception"
        }
    }

    /// Whether the fault is the link itself (reconnect), not one unit.
    var isConnectionLevel: Bool {
        if case .connectionFailed = self { return true }
        return false
    }

    /// Whether the unit did not (usably) answer: the device should back off.
    var isNoAnswer: Bool {
        switch self {
        case .timeout, .invalidResponse, .badUnitID, .connectionFailed: return true
        default: return false
        }
    }
}

extension String {
    /// "0x02" for 2.
    init(format2 code: Int) {
        let hex = String(code, radix: 16, uppercase: true)
        self = "0x" + (hex.count < 2 ? "0" + hex : hex)
    }
}
