import CModbus

/// The four Modbus tables.
enum RegisterTable: String, CaseIterable {
    case coil, discrete, holding, input
}

/// Where each table of a unit starts and how long it is. Requests outside
/// these ranges get exception 0x02 from libmodbus.
struct RegisterLayout {
    var coils: Range<Int> = 0..<0
    var discreteInputs: Range<Int> = 0..<0
    var holdingRegisters: Range<Int> = 0..<0
    var inputRegisters: Range<Int> = 0..<0

    func range(of table: RegisterTable) -> Range<Int> {
        switch table {
        case .coil: return coils
        case .discrete: return discreteInputs
        case .holding: return holdingRegisters
        case .input: return inputRegisters
        }
    }
}

/// Owns one libmodbus `modbus_mapping_t` (the tables `modbus_reply` answers
/// from) and frees it. Addresses are protocol addresses; the mapping's start
/// offsets are handled here.
final class RegisterMapping {
    let layout: RegisterLayout
    private let mapping: UnsafeMutablePointer<modbus_mapping_t>

    init(layout: RegisterLayout) {
        self.layout = layout
        guard let mapping = modbus_mapping_new_start_address(
            UInt32(layout.coils.lowerBound), UInt32(layout.coils.count),
            UInt32(layout.discreteInputs.lowerBound), UInt32(layout.discreteInputs.count),
            UInt32(layout.holdingRegisters.lowerBound), UInt32(layout.holdingRegisters.count),
            UInt32(layout.inputRegisters.lowerBound), UInt32(layout.inputRegisters.count))
        else {
            // Only fails when out of memory: nothing sensible to do but stop.
            fatalError("modbus_mapping_new_start_address failed: out of memory")
        }
        self.mapping = mapping
    }

    deinit { modbus_mapping_free(mapping) }

    /// For `modbus_reply`; valid while this object lives.
    var raw: UnsafeMutablePointer<modbus_mapping_t> { mapping }

    func contains(_ table: RegisterTable, _ address: Int) -> Bool {
        layout.range(of: table).contains(address)
    }

    /// A 16-bit register, or a bit (0/1) in a bit table. Misuse (an address outside the layout) traps.
    subscript(table: RegisterTable, address: Int) -> UInt16 {
        get {
            let range = layout.range(of: table)
            precondition(range.contains(address), "\(table) \(address) outside \(range)")
            let i = address - range.lowerBound
            switch table {
            case .coil: return UInt16(mapping.pointee.tab_bits[i])
            case .discrete: return UInt16(mapping.pointee.tab_input_bits[i])
            case .holding: return mapping.pointee.tab_registers[i]
            case .input: return mapping.pointee.tab_input_registers[i]
            }
        }
        set {
            let range = layout.range(of: table)
            precondition(range.contains(address), "\(table) \(address) outside \(range)")
            let i = address - range.lowerBound
            switch table {
            case .coil: mapping.pointee.tab_bits[i] = newValue == 0 ? 0 : 1
            case .discrete: mapping.pointee.tab_input_bits[i] = newValue == 0 ? 0 : 1
            case .holding: mapping.pointee.tab_registers[i] = newValue
            case .input: mapping.pointee.tab_input_registers[i] = newValue
            }
        }
    }

    /// Writes `words` (most significant first) from `address` on, in the given word order.
    func setWords(_ table: RegisterTable, _ address: Int, _ words: [UInt16], wordOrderBig: Bool = true) {
        let ordered = wordOrderBig ? words : words.reversed()
        for (offset, word) in ordered.enumerated() { self[table, address + offset] = word }
    }

    func setFloat32(_ table: RegisterTable, _ address: Int, _ value: Double, wordOrderBig: Bool = true) {
        let bits = Float(value).bitPattern
        setWords(table, address, [UInt16(bits >> 16), UInt16(bits & 0xFFFF)], wordOrderBig: wordOrderBig)
    }

    func setUInt32(_ table: RegisterTable, _ address: Int, _ value: UInt32) {
        setWords(table, address, [UInt16(value >> 16), UInt16(value & 0xFFFF)])
    }

    func setInt16(_ table: RegisterTable, _ address: Int, _ value: Int) {
        self[table, address] = UInt16(bitPattern: Int16(clamping: value))
    }
}
