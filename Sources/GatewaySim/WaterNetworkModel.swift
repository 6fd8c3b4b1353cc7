/// The district metered area the water and pressure units share: demand
/// follows a daily curve, a leak adds constant flow on top, and the pressure
/// at the monitoring point drops with the square of the flow.
final class WaterNetworkModel {
    struct Leak {
        var flowM3h: Double
        var sinceSeconds: Double
    }

    static let defaultMeanFlowM3h = 25.0
    static let defaultLeakFlowM3h = 8.0
    /// Pressure with no flow, and the head loss coefficient (bar per (m3/h)²).
    static let staticPressureBar = 4.25
    static let headLossBarPerM3h2 = 0.00075
    /// A burst also lowers the pressure at the monitoring point by this much.
    static let leakPressureDropBar = 0.3

    /// Weekdays: minimum around 03:00 (about 30 % of the daily mean), peaks at 07:30 and 19:30.
    static let weekday = DailyCurve(knots: [
        (0, 0.45), (3, 0.30), (5, 0.42), (7.5, 1.65), (9, 1.35), (12, 1.10), (15, 1.00),
        (17, 1.15), (19.5, 1.50), (21, 1.15), (22.5, 0.75), (24, 0.45),
    ])
    /// Weekends: later, flatter morning peak.
    static let weekend = DailyCurve(knots: [
        (0, 0.45), (3.5, 0.30), (6, 0.40), (9.5, 1.45), (12, 1.35), (15, 1.05),
        (18, 1.15), (20, 1.35), (22.5, 0.80), (24, 0.45),
    ])

    let seed: UInt64
    private(set) var leak: Leak?
    /// Water meters registered by unit id, each with its mean flow.
    private(set) var meanFlowByUnit: [UInt8: Double] = [:]
    private var noiseByUnit: [UInt8: SmoothNoise] = [:]

    init(seed: UInt64) {
        self.seed = seed
    }

    /// The first meter gets the documented 25 m3/h mean; further ones a seeded 10–40 m3/h.
    func addMeter(unitID: UInt8) {
        var generator = SeededGenerator(seed: seed ^ UInt64(unitID))
        let mean = meanFlowByUnit.isEmpty ? WaterNetworkModel.defaultMeanFlowM3h : Double.random(in: 10...40, using: &generator)
        meanFlowByUnit[unitID] = mean
        noiseByUnit[unitID] = SmoothNoise(seed: seed, unitID: unitID, channel: 1, knotSeconds: 30)
    }

    func demandFactor(atSeconds t: Double) -> Double {
        let instant = SimulatedInstant(seconds: t)
        let curve = instant.isWeekend ? WaterNetworkModel.weekend : WaterNetworkModel.weekday
        return curve.factor(atHour: instant.hourOfDay)
    }

    /// Customer demand through one meter, m3/h, with ±2 % noise.
    func demandFlowM3h(unitID: UInt8, atSeconds t: Double) -> Double {
        let mean = meanFlowByUnit[unitID] ?? WaterNetworkModel.defaultMeanFlowM3h
        let noise = noiseByUnit[unitID]?.value(atSeconds: t) ?? 0
        return mean * demandFactor(atSeconds: t) * (1 + 0.02 * noise)
    }

    /// What the meter shows: demand plus the leak (if one runs at `t`).
    func meteredFlowM3h(unitID: UInt8, atSeconds t: Double) -> Double {
        var flow = demandFlowM3h(unitID: unitID, atSeconds: t)
        if let leak, t >= leak.sinceSeconds { flow += leak.flowM3h }
        return flow
    }

    /// Pressure at the monitoring point: p0 − k·Q² with Q the mean metered flow, minus the leak's own drop.
    func pressureBar(atSeconds t: Double, noise: Double) -> Double {
        var flow: Double
        if meanFlowByUnit.isEmpty {
            flow = WaterNetworkModel.defaultMeanFlowM3h * demandFactor(atSeconds: t)
            if let leak, t >= leak.sinceSeconds { flow += leak.flowM3h }
        } else {
            flow = meanFlowByUnit.keys.map { meteredFlowM3h(unitID: $0, atSeconds: t) }.reduce(0, +)
                / Double(meanFlowByUnit.count)
        }
        var p = WaterNetworkModel.staticPressureBar - WaterNetworkModel.headLossBarPerM3h2 * flow * flow
        if let leak, t >= leak.sinceSeconds { p -= WaterNetworkModel.leakPressureDropBar }
        return max(0, p + 0.01 * noise)
    }

    /// Starts (or resizes) the leak at `t`. Callers advance every totaliser to `t` first.
    func startLeak(flowM3h: Double, atSeconds t: Double) {
        leak = Leak(flowM3h: flowM3h, sinceSeconds: leak?.sinceSeconds ?? t)
    }

    func stopLeak() {
        leak = nil
    }
}
