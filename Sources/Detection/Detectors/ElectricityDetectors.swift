import GatewayModel

/// `counter`: a cumulative register (energy, volume) going backwards or jumping
/// more than is physically possible between two readings.
final class CounterDetector: PointDetector {
    let backwardsTolerance: Double
    let maxIncreasePerHour: Double?
    let rollover: Double?
    var last: (ts: Int64, value: Double)?

    init(_ p: DetectorParameters) {
        backwardsTolerance = p.number("tolerance") ?? 0
        maxIncreasePerHour = p.number("max_increase_per_hour")
        rollover = p.number("rollover")
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        defer { last = (s.timestampMilliseconds, v) }
        guard let last, s.timestampMilliseconds > last.ts else { return .unchanged }
        var delta = v - last.value
        // A register that wrapped at its rollover value counts on from zero.
        if delta < -backwardsTolerance, let rollover, last.value > rollover * 0.9, v < rollover * 0.1 {
            delta += rollover
        }
        if delta < -backwardsTolerance {
            return alarmActive ? .unchanged : .raise(value: v, message: "counter went backwards from \(formatValue(last.value)) to \(formatValue(v)) (meter reset or replaced?)")
        }
        let hours = Double(s.timestampMilliseconds - last.ts) / 3_600_000
        if let maxIncreasePerHour, delta > maxIncreasePerHour * hours {
            return alarmActive ? .unchanged : .raise(value: v, message: "counter jumped by \(formatValue(delta)) in \(formatDuration(milliseconds: s.timestampMilliseconds - last.ts)), more than \(formatValue(maxIncreasePerHour)) per hour is possible")
        }
        return alarmActive ? .clear(value: v, message: "counter counting normally again at \(formatValue(v))") : .unchanged
    }

    func encodeState(into w: inout StateWriter) {
        w.put(last != nil)
        w.put(last?.ts ?? 0)
        w.put(last?.value ?? 0)
    }

    func decodeState(from r: inout StateReader) throws {
        let has = try r.bool(), ts = try r.int64(), v = try r.double()
        last = has ? (ts, v) : nil
    }
}

/// `voltage`: the supply leaves nominal ± `tolerance_percent` (EN 50160 allows ±10 %) for `delay`.
final class VoltageDetector: PointDetector {
    let nominal: Double
    let tolerance: Double
    let hysteresis: Double
    var timer: PersistenceTimer

    init(_ p: DetectorParameters) {
        nominal = p.number("nominal") ?? 230
        tolerance = (p.number("tolerance_percent") ?? 10) / 100
        hysteresis = (p.number("hysteresis_percent") ?? 1) / 100
        timer = PersistenceTimer(delayMilliseconds: p.milliseconds("delay"))
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        let deviation = (v - nominal) / nominal
        if alarmActive {
            return abs(deviation) <= tolerance - hysteresis
                ? .clear(value: v, message: "voltage \(formatValue(v)) V back within \(formatValue(tolerance * 100)) % of \(formatValue(nominal)) V") : .unchanged
        }
        guard timer.update(abs(deviation) > tolerance, at: s.timestampMilliseconds) else { return .unchanged }
        timer.reset()
        let word = deviation > 0 ? "over" : "under"
        return .raise(value: v, message: "\(word)voltage: \(formatValue(v)) V is \(formatValue(abs(deviation) * 100)) % \(deviation > 0 ? "above" : "below") the nominal \(formatValue(nominal)) V (limit \(formatValue(tolerance * 100)) %)")
    }
}
