/// Fixed, documented contents for decoder tests. The simulator never changes
/// them on its own; Modbus writes are accepted and kept until `clear UNIT`.
final class PatternRegisterMap: RegisterMap {
    /// Holding registers 0–31 (see README.md for what each decodes to).
    static let holding: [UInt16] = [
        0x1234, 0x5678,                  // 0-1   int32 ABCD 0x12345678, CDAB 0x56781234
        0x42F6, 0xE979,                  // 2-3   float32 123.456 ABCD
        0xFFFF, 0xFFFE,                  // 4-5   int32 -2
        0x0102, 0x0304, 0x0506, 0x0708,  // 6-9   uint64 0x0102030405060708
        0xC093, 0x4A45, 0x6D5C, 0xFAAD,  // 10-13 float64 -1234.5678
        0xFFFE,                          // 14    int16 -2 (uint16 65534)
        0x8000,                          // 15    int16 -32768 (uint16 32768)
        0xE979, 0x42F6,                  // 16-17 float32 123.456 CDAB (little word order)
        0xF642, 0x79E9,                  // 18-19 float32 123.456 BADC (little byte order)
        0x79E9, 0xF642,                  // 20-21 float32 123.456 DCBA (both little)
        0xEE6B, 0x2800,                  // 22-23 uint32 4000000000 (int32 -294967296)
        0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE,  // 24-27 int64 -2
        0x7FC0, 0x0000,                  // 28-29 float32 NaN
        0x0000,                          // 30
        0xFFFF,                          // 31
    ]
    /// Input registers 0–31: 0xA000 + address.
    static let input: [UInt16] = (0..<32).map { 0xA000 + UInt16($0) }
    /// Coils 0–15.
    static let coils: [UInt16] = [1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    /// Discrete inputs 0–15: the complement of the coils.
    static let discreteInputs: [UInt16] = coils.map { 1 - $0 }

    let layout = RegisterLayout(coils: 0..<16, discreteInputs: 0..<16, holdingRegisters: 0..<32, inputRegisters: 0..<32)
    var acceptsModbusWrites: Bool { true }

    func reset(_ mapping: RegisterMapping) {
        for (a, v) in PatternRegisterMap.holding.enumerated() { mapping[.holding, a] = v }
        for (a, v) in PatternRegisterMap.input.enumerated() { mapping[.input, a] = v }
        for (a, v) in PatternRegisterMap.coils.enumerated() { mapping[.coil, a] = v }
        for (a, v) in PatternRegisterMap.discreteInputs.enumerated() { mapping[.discrete, a] = v }
    }

    func refresh(_ mapping: RegisterMapping, atSeconds t: Double) {}
}
