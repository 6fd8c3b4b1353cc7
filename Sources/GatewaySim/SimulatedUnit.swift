/// One simulated Modbus unit: its register map, the libmodbus tables it is
/// served from, and the faults a test has switched on.
final class SimulatedUnit {
    let unitID: UInt8
    let kind: UnitKind
    let map: RegisterMap
    let mapping: RegisterMapping

    /// `mute UNIT`: no answer at all, like a dead slave.
    var isMuted = false
    /// `exception UNIT CODE`: every request gets this exception.
    var exceptionCode: UInt8?
    /// `garbage UNIT N`: this many next responses go out corrupted.
    var corruptResponsesLeft = 0
    /// `set UNIT TABLE ADDRESS VALUE`: raw values that win over the model until `clear UNIT`.
    private var overrides: [RegisterTable: [Int: UInt16]] = [:]

    init(unitID: UInt8, kind: UnitKind, map: RegisterMap) {
        self.unitID = unitID
        self.kind = kind
        self.map = map
        self.mapping = RegisterMapping(layout: map.layout)
        map.reset(mapping)
    }

    /// Fills the tables for a request arriving at simulated time `t`.
    func prepare(atSeconds t: Double) {
        map.refresh(mapping, atSeconds: t)
        for (table, values) in overrides {
            for (address, value) in values { mapping[table, address] = value }
        }
    }

    func override(_ table: RegisterTable, address: Int, value: UInt16) {
        overrides[table, default: [:]][address] = value
        mapping[table, address] = value
    }

    /// `clear UNIT`: faults off, overrides gone, initial contents back.
    func clear() {
        isMuted = false
        exceptionCode = nil
        corruptResponsesLeft = 0
        overrides = [:]
        map.reset(mapping)
    }
}
