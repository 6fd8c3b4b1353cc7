/// A household-sized supply point: voltage wanders slowly around 230 V,
/// current follows a daily load curve between 0.5 and 12 A, and the import
/// register integrates phase-1 active power in simulated time.
final class ElectricityModel {
    struct Phase {
        var voltageV: Double
        var currentA: Double
        var powerFactor: Double
        var activePowerW: Double { voltageV * currentA * powerFactor }
        var apparentPowerVA: Double { voltageV * currentA }
    }

    /// Load: low at 04:00, a morning peak at 08:00 and the highest in the evening at 19:00.
    static let load = DailyCurve(knots: [
        (0, 0.25), (4, 0.05), (6, 0.20), (8, 0.75), (10, 0.45), (13, 0.50), (16, 0.40),
        (19, 1.00), (21, 0.80), (23, 0.40), (24, 0.25),
    ])
    static let startImportKWh = 1520.0

    let unitID: UInt8
    private let slowVoltage: [SmoothNoise]
    private let fastVoltage: [SmoothNoise]
    private let currentNoise: [SmoothNoise]
    private let frequencyNoise: SmoothNoise
    private let powerFactorNoise: SmoothNoise
    private var importEnergy: Totaliser

    init(unitID: UInt8, seed: UInt64, startSeconds: Double) {
        self.unitID = unitID
        slowVoltage = (0..<3).map { SmoothNoise(seed: seed, unitID: unitID, channel: 10 + UInt64($0), knotSeconds: 1200) }
        fastVoltage = (0..<3).map { SmoothNoise(seed: seed, unitID: unitID, channel: 20 + UInt64($0), knotSeconds: 5) }
        currentNoise = (0..<3).map { SmoothNoise(seed: seed, unitID: unitID, channel: 30 + UInt64($0), knotSeconds: 20) }
        frequencyNoise = SmoothNoise(seed: seed, unitID: unitID, channel: 40, knotSeconds: 10)
        powerFactorNoise = SmoothNoise(seed: seed, unitID: unitID, channel: 41, knotSeconds: 60)
        importEnergy = Totaliser(value: ElectricityModel.startImportKWh, atSeconds: startSeconds)
    }

    /// Phase 0, 1 or 2 at simulated time `t`. Phase 0 is the SDM120's single phase.
    func phase(_ index: Int, atSeconds t: Double) -> Phase {
        let voltage = 230 * (1 + 0.02 * slowVoltage[index].value(atSeconds: t)) + 0.3 * fastVoltage[index].value(atSeconds: t)
        // The top of the load curve maps to 12 A.
        let curve = ElectricityModel.load
        let loadShare = min(1, curve.factor(atHour: SimulatedInstant(seconds: t).hourOfDay) / curve.maximumFactor)
        let phaseShare = [1.0, 0.85, 1.1][index]
        let current = max(0.5, min(12, (0.5 + 11.5 * loadShare) * phaseShare * (1 + 0.05 * currentNoise[index].value(atSeconds: t))))
        let pf = min(0.99, max(0.9, 0.9 + 0.08 * loadShare + 0.01 * powerFactorNoise.value(atSeconds: t)))
        return Phase(voltageV: voltage, currentA: current, powerFactor: pf)
    }

    func frequencyHz(atSeconds t: Double) -> Double {
        50 + 0.05 * frequencyNoise.value(atSeconds: t)
    }

    /// Import energy in kWh up to `t` (never decreases).
    func importKWh(atSeconds t: Double) -> Double {
        importEnergy.advance(to: t) { s in self.phase(0, atSeconds: s).activePowerW / 3_600_000 }
        return importEnergy.value
    }
}
