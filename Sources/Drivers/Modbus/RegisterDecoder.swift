import GatewayModel

/// Turns raw Modbus registers (or bits) into a point's value.
///
/// Registers arrive as libmodbus hands them over: each `UInt16` holds the two
/// bytes in wire order, first byte in the high half. `byteOrder` says whether
/// the device put its most significant byte first within each register
/// (`big`, the Modbus standard) or swapped them (`little`); `wordOrder` says
/// whether a 32/64-bit value starts with its most significant register (`big`)
/// or its least significant one (`little`). Big/big is "ABCD", little words
/// "CDAB", little bytes "BADC", both little "DCBA".
public enum RegisterDecoder {
    /// The raw (unscaled) value of `type` from exactly `type.registerCount` registers.
    /// `bool` on a register means register != 0.
    public static func raw(_ registers: ArraySlice<UInt16>, type: PointType,
                           byteOrder: ByteOrder, wordOrder: ByteOrder) -> Double {
        precondition(registers.count >= type.registerCount, "decoder needs \(type.registerCount) registers for \(type)")
        return raw(bits: assemble(registers.prefix(type.registerCount), byteOrder: byteOrder, wordOrder: wordOrder), type: type)
    }

    /// The raw value of `type` from its registers already assembled most significant first.
    public static func raw(bits: UInt64, type: PointType) -> Double {
        switch type {
        case .bool: return bits != 0 ? 1 : 0
        case .int16: return Double(Int16(truncatingIfNeeded: bits))
        case .uint16: return Double(UInt16(truncatingIfNeeded: bits))
        case .int32: return Double(Int32(truncatingIfNeeded: bits))
        case .uint32: return Double(UInt32(truncatingIfNeeded: bits))
        case .int64: return Double(Int64(bitPattern: bits))
        case .uint64: return Double(bits)
        case .float32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .float64: return Double(bitPattern: bits)
        }
    }

    /// The point's value: `raw * scale + offset`.
    public static func value(_ registers: ArraySlice<UInt16>, point: PointConfiguration) -> Double {
        raw(registers, type: point.type, byteOrder: point.byteOrder, wordOrder: point.wordOrder) * point.scale + point.offset
    }

    /// The point's value from a coil or discrete input: 1 or 0, then scaled.
    public static func value(bit: Bool, point: PointConfiguration) -> Double {
        (bit ? 1 : 0) * point.scale + point.offset
    }

    /// The registers as one unsigned integer, most significant byte first,
    /// after undoing the device's byte and word order.
    static func assemble(_ registers: ArraySlice<UInt16>, byteOrder: ByteOrder, wordOrder: ByteOrder) -> UInt64 {
        // Index arithmetic instead of map/reverse: this runs once per reading.
        var bits: UInt64 = 0
        let first = registers.startIndex, last = registers.endIndex - 1
        for k in 0..<registers.count {
            var w = registers[wordOrder == .big ? first + k : last - k]
            if byteOrder == .little { w = w.byteSwapped }
            bits = bits << 16 | UInt64(w)
        }
        return bits
    }
}
