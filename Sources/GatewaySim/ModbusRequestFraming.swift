/// Where one Modbus RTU request ends. RTU has no length field, so a server
/// reads the function code to know how many bytes follow (as libmodbus does);
/// for function codes it does not know it waits for the line to go quiet.
enum RTURequestLength {
    case needMore
    case complete(Int)
    /// Unknown function code: the frame ends at the next silence.
    case untilSilence

    /// Inspects the start of `buffer` (slave id, function code, ...).
    static func of(_ buffer: ArraySlice<UInt8>) -> RTURequestLength {
        guard buffer.count >= 2 else { return .needMore }
        let base = buffer.startIndex
        switch buffer[base + 1] {
        case 0x01, 0x02, 0x03, 0x04, 0x05, 0x06:
            return .complete(8)   // slave, fc, address(2), count/value(2), crc(2)
        case 0x07, 0x0B, 0x0C, 0x11:
            return .complete(4)   // slave, fc, crc(2)
        case 0x0F, 0x10:
            guard buffer.count >= 7 else { return .needMore }
            return .complete(9 + Int(buffer[base + 6]))
        case 0x16:
            return .complete(10)
        case 0x17:
            guard buffer.count >= 11 else { return .needMore }
            return .complete(13 + Int(buffer[base + 10]))
        default:
            return .untilSilence
        }
    }
}

enum ModbusFunction {
    /// Function codes that change registers or coils.
    static let writes: Set<UInt8> = [0x05, 0x06, 0x0F, 0x10, 0x16, 0x17]
}

/// CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), sent low byte first.
enum ModbusCRC {
    static func compute<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc ^= UInt16(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1
            }
        }
        return crc
    }

    /// Whether the last two bytes are the CRC of the rest.
    static func isValid(_ frame: ArraySlice<UInt8>) -> Bool {
        guard frame.count >= 4 else { return false }
        let body = frame.dropLast(2)
        let crc = compute(body)
        return frame[frame.endIndex - 2] == UInt8(crc & 0xFF) && frame[frame.endIndex - 1] == UInt8(crc >> 8)
    }
}
