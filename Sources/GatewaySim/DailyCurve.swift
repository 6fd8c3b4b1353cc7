#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A shape over one day, given as (hour, factor) knots and blended smoothly
/// between them, scaled so its mean over the day is exactly 1. Times of day
/// are UTC: the simulator has no time zone.
struct DailyCurve {
    private let hours: [Double]
    private let factors: [Double]
    /// The highest factor over the day (after normalising).
    let maximumFactor: Double

    init(knots: [(hour: Double, factor: Double)]) {
        precondition(knots.first?.hour == 0 && knots.last?.hour == 24, "a daily curve spans 0-24 h")
        hours = knots.map(\.hour)
        let raw = knots.map(\.factor)
        // Normalise numerically so "mean flow" in the docs means the real daily mean.
        var sum = 0.0
        let samples = 24 * 60
        for i in 0..<samples { sum += DailyCurve.interpolate(hours, raw, Double(i) / 60) }
        let mean = sum / Double(samples)
        factors = raw.map { $0 / mean }
        maximumFactor = factors.max() ?? 1
    }

    /// The factor at `hour` (0 ..< 24).
    func factor(atHour hour: Double) -> Double {
        DailyCurve.interpolate(hours, factors, hour)
    }

    private static func interpolate(_ hours: [Double], _ factors: [Double], _ hour: Double) -> Double {
        var i = 0
        while i + 1 < hours.count - 1 && hours[i + 1] <= hour { i += 1 }
        let span = hours[i + 1] - hours[i]
        let fraction = min(max((hour - hours[i]) / span, 0), 1)
        let blend = (1 - cos(fraction * Double.pi)) / 2
        return factors[i] + (factors[i + 1] - factors[i]) * blend
    }
}

/// Calendar facts of a simulated instant (UTC).
struct SimulatedInstant {
    let seconds: Double

    var hourOfDay: Double {
        let s = seconds.truncatingRemainder(dividingBy: 86_400)
        return (s < 0 ? s + 86_400 : s) / 3600
    }

    /// Saturday or Sunday. 1970-01-01 was a Thursday.
    var isWeekend: Bool {
        let day = Int64((seconds / 86_400).rounded(.down))
        let weekday = ((day + 3) % 7 + 7) % 7  // 0 = Monday
        return weekday >= 5
    }
}

/// A quantity that only grows: integrates a rate over simulated time in steps
/// of at most a minute (so a request after a long pause still integrates the
/// daily curve faithfully).
struct Totaliser {
    private(set) var value: Double
    private(set) var lastSeconds: Double

    init(value: Double, atSeconds seconds: Double) {
        self.value = value
        self.lastSeconds = seconds
    }

    /// Adds ∫ rate dt from the last call up to `seconds`; `rate` is per second.
    mutating func advance(to seconds: Double, rate: (Double) -> Double) {
        guard seconds > lastSeconds else { return }
        var t = lastSeconds
        var r0 = rate(t)
        while t < seconds {
            let next = min(t + 60, seconds)
            let r1 = rate(next)
            value += max(0, (r0 + r1) / 2) * (next - t)
            t = next
            r0 = r1
        }
        lastSeconds = seconds
    }
}

/// One metered inlet of the simulated water network: its flow (m3/h) and a
/// totaliser (litres) that only grows. The water meter maps present it in
/// their own register layouts.
final class MeteredInlet {
    let unitID: UInt8
    private let network: WaterNetworkModel
    private var volume: Totaliser

    init(unitID: UInt8, network: WaterNetworkModel, startVolumeLitres: Double, startSeconds: Double) {
        self.unitID = unitID
        self.network = network
        // Registered as one of the network's meters: its flow feeds the pressure model too.
        network.addMeter(unitID: unitID)
        volume = Totaliser(value: startVolumeLitres, atSeconds: startSeconds)
    }

    func flowM3h(atSeconds t: Double) -> Double { network.meteredFlowM3h(unitID: unitID, atSeconds: t) }

    /// Brings the totaliser up to `t` (the simulation calls this before the leak changes) and returns it, in litres.
    @discardableResult
    func volumeLitres(atSeconds t: Double) -> Double {
        let unitID = self.unitID, network = self.network
        // m3/h → litres per second.
        volume.advance(to: t) { s in network.meteredFlowM3h(unitID: unitID, atSeconds: s) / 3.6 }
        return volume.value
    }
}
