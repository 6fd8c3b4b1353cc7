#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CModbus
import GatewayModel

/// The one libmodbus context of a bus: TCP or RTU, opened and closed by its
/// owner, used by one thread at a time (the bus's owner thread, or a
/// commissioning command that owns it outright). Not Sendable on purpose.
///
/// Every libmodbus call goes through `check`, which captures errno at once and
/// maps it to a `ModbusError`. On RTU the link keeps the inter-frame silence
/// (3.5 character times, 1.75 ms above 19200 baud) plus `turnaroundDelay`
/// between transactions, and flushes the port after a timeout or a bad frame
/// so a late or garbled answer cannot be taken for the next one.
final class ModbusLink {
    let configuration: BusConfiguration
    // modbus_t*, owned: freed in deinit.
    private let context: OpaquePointer
    private(set) var isOpen = false
    private var lastTransactionEndNanoseconds: UInt64 = 0
    /// Silence owed between two RTU transactions, in nanoseconds (0 on TCP).
    let interFrameSilenceNanoseconds: UInt64

    /// Creates the context; does not touch the network or the port yet.
    /// - Throws: `ModbusError.invalidRequest` for a configuration libmodbus refuses.
    init(configuration: BusConfiguration) throws {
        self.configuration = configuration
        let created: OpaquePointer?
        switch configuration.type {
        case .modbusTCP:
            created = modbus_new_tcp_pi(configuration.host, String(configuration.port))
            interFrameSilenceNanoseconds = 0
        case .modbusRTU:
            let parity: CChar
            switch configuration.parity {
            case .none: parity = CChar(UInt8(ascii: "N"))
            case .even: parity = CChar(UInt8(ascii: "E"))
            case .odd: parity = CChar(UInt8(ascii: "O"))
            }
            created = modbus_new_rtu(configuration.device, Int32(configuration.baud), parity,
                                     Int32(configuration.dataBits), Int32(configuration.stopBits))
            interFrameSilenceNanoseconds = ModbusLink.interFrameSilence(configuration)
                + UInt64(max(0, configuration.turnaroundDelay.nanoseconds))
        case .serialLine:
            throw ModbusError.notModbus(bus: configuration.name, type: configuration.type.rawValue)
        }
        guard let created else {
            let e = errno
            throw ModbusError.invalidRequest("bus \(configuration.name): libmodbus refused the settings (\(String(cString: modbus_strerror(e))))")
        }
        context = created
        let timeout = configuration.timeout
        let timeoutMicroseconds = max(1000, timeout.nanoseconds / 1000)
        modbus_set_response_timeout(context, UInt32(timeoutMicroseconds / 1_000_000), UInt32(timeoutMicroseconds % 1_000_000))
        // Between bytes of one answer: on RTU a gap longer than a few characters
        // means the frame is broken, so do not wait the full timeout for bytes
        // that never come (noise). TCP segments may legitimately straggle.
        let byteMicroseconds = configuration.type == .modbusRTU ? min(timeoutMicroseconds, 200_000) : timeoutMicroseconds
        modbus_set_byte_timeout(context, UInt32(byteMicroseconds / 1_000_000), UInt32(byteMicroseconds % 1_000_000))
    }

    deinit {
        close()
        modbus_free(context)
    }

    /// 3.5 character times at the bus's framing; 1.75 ms above 19200 baud (Modbus over serial line spec, 2.5.1.1).
    static func interFrameSilence(_ c: BusConfiguration) -> UInt64 {
        if c.baud > 19200 { return 1_750_000 }
        let bitsPerCharacter = 1 + c.dataBits + (c.parity == .none ? 0 : 1) + c.stopBits
        return UInt64(3.5 * Double(bitsPerCharacter) / Double(max(c.baud, 1)) * 1e9)
    }

    /// What this link talks to, for messages: `192.0.2.10:502` or `/dev/ttyUSB0`.
    var target: String {
        configuration.type == .modbusTCP ? "\(configuration.host):\(configuration.port)" : configuration.device
    }

    /// Opens the port or connection. Blocks up to the bus timeout (TCP connect).
    /// - Throws: `ModbusError.connectionFailed` with a reason a technician can act on.
    func open() throws {
        if isOpen { return }
        if modbus_connect(context) == -1 {
            let e = errno
            throw ModbusError.connectionFailed(bus: configuration.name, target: target, errno: e, reason: connectReason(e))
        }
        isOpen = true
        if configuration.type == .modbusRTU && configuration.rs485 {
            // Kernel RS-485 mode drives the transmitter enable. A pty or a plain
            // UART without RS-485 support refuses with ENOTTY/EINVAL; USB
            // adapters with automatic direction control need nothing, so that
            // refusal is expected and harmless.
            _ = modbus_rtu_set_serial_mode(context, Int32(MODBUS_RTU_RS485))
        }
    }

    func close() {
        if isOpen {
            modbus_close(context)
            isOpen = false
        }
    }

    /// Reads `count` registers of a holding or input table. Blocks for the transaction.
    func readRegisters(unit: Int, table: RegisterTable, address: Int, count: Int) throws -> [UInt16] {
        precondition(!table.isBits)
        try validate(unit: unit, table: table, address: address, count: count)
        var out = [UInt16](repeating: 0, count: count)
        try transaction(unit: unit) {
            out.withUnsafeMutableBufferPointer { buffer in
                table == .holding
                    ? modbus_read_registers(context, Int32(address), Int32(count), buffer.baseAddress)
                    : modbus_read_input_registers(context, Int32(address), Int32(count), buffer.baseAddress)
            }
        }
        return out
    }

    /// Reads `count` coils or discrete inputs. Blocks for the transaction.
    func readBits(unit: Int, table: RegisterTable, address: Int, count: Int) throws -> [Bool] {
        precondition(table.isBits)
        try validate(unit: unit, table: table, address: address, count: count)
        var out = [UInt8](repeating: 0, count: count)
        try transaction(unit: unit) {
            out.withUnsafeMutableBufferPointer { buffer in
                table == .coil
                    ? modbus_read_bits(context, Int32(address), Int32(count), buffer.baseAddress)
                    : modbus_read_input_bits(context, Int32(address), Int32(count), buffer.baseAddress)
            }
        }
        return out.map { $0 != 0 }
    }

    private func validate(unit: Int, table: RegisterTable, address: Int, count: Int) throws {
        let maxUnit = configuration.type == .modbusRTU ? 247 : 255
        guard (1...maxUnit).contains(unit) else {
            throw ModbusError.invalidRequest("unit id \(unit) cannot be read on \(configuration.name): use 1–\(maxUnit) (0 is broadcast)")
        }
        let limit = table.isBits ? ReadPlan.maxBitsPerRead : ReadPlan.maxRegistersPerRead
        guard (1...limit).contains(count) else {
            throw ModbusError.invalidRequest("cannot read \(count) \(table.isBits ? "bits" : "registers") at once: use 1–\(limit)")
        }
        guard address >= 0, address + count <= 65536 else {
            throw ModbusError.invalidRequest("address \(address) + \(count) is outside 0–65535")
        }
    }

    /// Runs one libmodbus call with the line discipline around it; maps its failure.
    private func transaction(unit: Int, _ call: () -> Int32) throws {
        try open()
        modbus_set_slave(context, Int32(unit))
        if interFrameSilenceNanoseconds > 0 {
            let due = lastTransactionEndNanoseconds + interFrameSilenceNanoseconds
            let now = SystemClock.monotonicNow()
            if due > now { ModbusLink.sleep(nanoseconds: due - now) }
        }
        let rc = call()
        let e = errno
        lastTransactionEndNanoseconds = SystemClock.monotonicNow()
        if rc != -1 { return }
        let error = map(errno: e, unit: unit)
        switch error {
        case .timeout, .invalidResponse, .badUnitID:
            // A late answer or the rest of a garbled frame must not be read as the next answer.
            _ = modbus_flush(context)
        case .connectionFailed:
            close()
        default:
            break
        }
        throw error
    }

    private func map(errno e: Int32, unit: Int) -> ModbusError {
        let base = Int32(MODBUS_ENOBASE)
        let bus = configuration.name
        switch e {
        case ETIMEDOUT:
            return .timeout(bus: bus, unit: unit, timeoutMilliseconds: configuration.timeout.milliseconds)
        case (base + 1)...(base + 11):
            let code = Int(e - base)
            return .exception(bus: bus, unit: unit, code: code, name: ModbusError.exceptionName(code))
        case base + 12:
            return .invalidResponse(bus: bus, unit: unit, reason: "CRC error (noise, wrong baud or parity, missing termination?)")
        case base + 13, base + 14, base + 15, base + 16:
            return .invalidResponse(bus: bus, unit: unit, reason: String(cString: modbus_strerror(e)))
        case base + 17:
            return .badUnitID(bus: bus, unit: unit)
        default:
            return .connectionFailed(bus: bus, target: target, errno: e, reason: linkReason(e))
        }
    }

    private func connectReason(_ e: Int32) -> String {
        let serial = configuration.type == .modbusRTU
        switch e {
        case EACCES where serial, EPERM where serial:
            return "permission denied — add the gatewayd user to the dialout group"
        case ENOENT where serial, ENODEV where serial, ENXIO where serial:
            return "no such device — is the USB adapter plugged in? prefer /dev/serial/by-id/... paths"
        case EBUSY where serial:
            return "port busy — another program has it open"
        case ECONNREFUSED:
            return "connection refused — is the Modbus TCP server enabled on port \(configuration.port)?"
        case ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, EINPROGRESS:
            return "no route or no answer — check the IP address, cabling and firewall"
        default:
            return String(cString: modbus_strerror(e))
        }
    }

    private func linkReason(_ e: Int32) -> String {
        switch e {
        case EIO, ENXIO, ENODEV:
            return "the port went away (USB adapter unplugged?)"
        case ECONNRESET, EPIPE, ENOTCONN:
            return "connection closed by the device"
        default:
            return String(cString: modbus_strerror(e))
        }
    }

    static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}
