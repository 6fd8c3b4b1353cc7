/// Eastron SDM120 input registers (float32, big-endian words), plus the SDM630
/// three-phase extras so an `eastron-sdm630` profile reads sensible values.
/// Holes inside 0x0000–0x0157 read as 0, as on the real meter.
final class ElectricityRegisterMap: RegisterMap {
    enum Address {
        static let voltage = 0x0000, voltage2 = 0x0002, voltage3 = 0x0004
        static let current = 0x0006, current2 = 0x0008, current3 = 0x000A
        static let activePower = 0x000C, activePower2 = 0x000E, activePower3 = 0x0010
        static let apparentPower = 0x0012, apparentPower2 = 0x0014, apparentPower3 = 0x0016
        static let powerFactor = 0x001E, powerFactor2 = 0x0020, powerFactor3 = 0x0022
        static let totalPower = 0x0034
        static let frequency = 0x0046
        static let importEnergy = 0x0048, exportEnergy = 0x004A
        static let totalEnergy = 0x0156
    }

    let layout = RegisterLayout(inputRegisters: 0..<0x0158)
    private let model: ElectricityModel

    init(model: ElectricityModel) {
        self.model = model
    }

    func reset(_ mapping: RegisterMapping) {
        for a in layout.inputRegisters { mapping[.input, a] = 0 }
    }

    func refresh(_ mapping: RegisterMapping, atSeconds t: Double) {
        let phases = (0..<3).map { model.phase($0, atSeconds: t) }
        let voltages = [Address.voltage, Address.voltage2, Address.voltage3]
        let currents = [Address.current, Address.current2, Address.current3]
        let powers = [Address.activePower, Address.activePower2, Address.activePower3]
        let apparent = [Address.apparentPower, Address.apparentPower2, Address.apparentPower3]
        let factors = [Address.powerFactor, Address.powerFactor2, Address.powerFactor3]
        for (i, phase) in phases.enumerated() {
            mapping.setFloat32(.input, voltages[i], phase.voltageV)
            mapping.setFloat32(.input, currents[i], phase.currentA)
            mapping.setFloat32(.input, powers[i], phase.activePowerW)
            mapping.setFloat32(.input, apparent[i], phase.apparentPowerVA)
            mapping.setFloat32(.input, factors[i], phase.powerFactor)
        }
        mapping.setFloat32(.input, Address.totalPower, phases.map(\.activePowerW).reduce(0, +))
        mapping.setFloat32(.input, Address.frequency, model.frequencyHz(atSeconds: t))
        let imported = model.importKWh(atSeconds: t)
        mapping.setFloat32(.input, Address.importEnergy, imported)
        mapping.setFloat32(.input, Address.exportEnergy, 0)
        mapping.setFloat32(.input, Address.totalEnergy, imported)
    }
}
