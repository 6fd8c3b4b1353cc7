/// The kinds of simulated Modbus unit (`--units 1=electricity,...`).
enum UnitKind: String, CaseIterable {
    case electricity, water, pressure, pattern
    /// A Dynaflox ultraD ultrasonic water meter's own register map.
    case watermeterUltrad = "watermeter-ultrad"
    /// An Advantech ADAM-4017+ analog input module with a 0–10 bar transmitter on channel 0.
    case aiAdam4017 = "ai-adam4017"
}

/// One device's register map: which addresses exist and what they hold at a
/// simulated instant. Values are computed when a request arrives; there is no
/// background ticker.
protocol RegisterMap: AnyObject {
    var layout: RegisterLayout { get }
    /// Whether Modbus write requests are applied (else they get exception 0x01).
    var acceptsModbusWrites: Bool { get }
    /// Puts the initial contents in place (at start and on `clear`).
    func reset(_ mapping: RegisterMapping)
    /// Writes the values at simulated time `t` (seconds since the epoch).
    func refresh(_ mapping: RegisterMapping, atSeconds t: Double)
}

extension RegisterMap {
    var acceptsModbusWrites: Bool { false }
}
