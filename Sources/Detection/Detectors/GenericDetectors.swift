import GatewayModel

/// `range`: the value leaves [min, max]. Clears once back inside by `deadband`.
final class RangeDetector: PointDetector {
    let minimum: Double?
    let maximum: Double?
    let deadband: Double
    var timer: PersistenceTimer

    init(_ p: DetectorParameters) {
        minimum = p.number("min")
        maximum = p.number("max")
        deadband = p.number("deadband") ?? 0
        timer = PersistenceTimer(delayMilliseconds: p.milliseconds("delay"))
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        if alarmActive {
            let inside = (minimum.map { v >= $0 + deadband } ?? true) && (maximum.map { v <= $0 - deadband } ?? true)
            return inside ? .clear(value: v, message: "\(formatValue(v)) is back within limits") : .unchanged
        }
        let high = maximum.map { v > $0 } ?? false
        let low = minimum.map { v < $0 } ?? false
        guard timer.update(high || low, at: s.timestampMilliseconds) else { return .unchanged }
        timer.reset()
        if high { return .raise(value: v, message: "\(formatValue(v)) is above the upper limit \(formatValue(maximum!))") }
        return .raise(value: v, message: "\(formatValue(v)) is below the lower limit \(formatValue(minimum!))")
    }
}

/// `rate_of_change`: the value moves faster than `max_rate` per `per` between consecutive readings.
final class RateOfChangeDetector: PointDetector {
    let maxRate: Double
    let perMilliseconds: Double
    let clearAfterMilliseconds: Int64
    let maxGapMilliseconds: Int64
    var last: (ts: Int64, value: Double)?
    var calmSince: Int64?

    init(_ p: DetectorParameters) {
        maxRate = p.number("max_rate") ?? .infinity
        perMilliseconds = Double(max(1, p.milliseconds("per")))
        clearAfterMilliseconds = p.milliseconds("clear_after")
        maxGapMilliseconds = p.milliseconds("max_gap")
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        defer { last = (s.timestampMilliseconds, v) }
        guard let last, s.timestampMilliseconds > last.ts, s.timestampMilliseconds - last.ts <= maxGapMilliseconds else { return .unchanged }
        let rate = (v - last.value) / Double(s.timestampMilliseconds - last.ts) * perMilliseconds
        if abs(rate) > maxRate {
            calmSince = nil
            return alarmActive ? .unchanged : .raise(value: v, message: "changed by \(formatValue(rate)) per \(formatDuration(milliseconds: Int64(perMilliseconds))), faster than the limit \(formatValue(maxRate))")
        }
        guard alarmActive else { return .unchanged }
        if calmSince == nil { calmSince = s.timestampMilliseconds }
        if s.timestampMilliseconds - calmSince! >= clearAfterMilliseconds {
            calmSince = nil
            return .clear(value: v, message: "rate of change back within \(formatValue(maxRate)) per \(formatDuration(milliseconds: Int64(perMilliseconds)))")
        }
        return .unchanged
    }
}

/// `spike`: one reading far from the recent median, measured in robust
/// standard deviations (MAD × 1.4826), so a single wild value neither hides
/// itself nor drags the reference the way a mean would.
final class SpikeDetector: PointDetector {
    let window: Int
    let threshold: Double
    let minDeviation: Double
    var recent: [Double] = []
    var next = 0
    var scratch: [Double] = []

    init(_ p: DetectorParameters) {
        window = p.integer("window")
        threshold = p.number("threshold") ?? 6
        minDeviation = p.number("min_deviation") ?? 0
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        defer {
            if recent.count < window { recent.append(v) } else { recent[next] = v; next = (next + 1) % window }
        }
        guard recent.count >= min(window, 5) else { return .unchanged }
        scratch = recent
        scratch.sort()
        let median = scratch.median
        for i in scratch.indices { scratch[i] = abs(scratch[i] - median) }
        scratch.sort()
        let sigma = max(scratch.median * 1.4826, minDeviation, 1e-12 * max(1, abs(median)))
        let z = (v - median) / sigma
        if abs(z) > threshold {
            return alarmActive ? .unchanged : .raise(value: v, message: "spike: \(formatValue(v)) is \(formatValue(abs(z))) robust deviations from the recent median \(formatValue(median))")
        }
        if alarmActive && abs(z) <= threshold / 2 {
            return .clear(value: v, message: "back near the recent median \(formatValue(median))")
        }
        return .unchanged
    }

    func encodeState(into w: inout StateWriter) {
        // Keep the window in time order so a restored detector continues exactly.
        let ordered = recent.count < window ? recent : Array(recent[next...] + recent[..<next])
        w.put(ordered)
    }

    func decodeState(from r: inout StateReader) throws {
        let values = try r.doubles()
        recent = Array(values.suffix(window))
        next = 0
    }
}

extension Array where Element == Double {
    /// Median of a sorted array.
    var median: Double {
        guard !isEmpty else { return .nan }
        let m = count / 2
        return count % 2 == 1 ? self[m] : (self[m - 1] + self[m]) / 2
    }
}

/// `flatline`: a stuck sensor repeats the same value (within `tolerance`) for `duration`.
final class FlatlineDetector: PointDetector {
    let durationMilliseconds: Int64
    let tolerance: Double
    var runValue: Double?
    var runStart: Int64 = 0

    init(_ p: DetectorParameters) {
        durationMilliseconds = p.milliseconds("duration")
        tolerance = p.number("tolerance") ?? 0
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        if let r = runValue, abs(v - r) <= tolerance {
            if !alarmActive && s.timestampMilliseconds - runStart >= durationMilliseconds {
                return .raise(value: v, message: "stuck at \(formatValue(v)) for \(formatDuration(milliseconds: s.timestampMilliseconds - runStart)): sensor may be frozen")
            }
            return .unchanged
        }
        runValue = v
        runStart = s.timestampMilliseconds
        return alarmActive ? .clear(value: v, message: "value moving again (\(formatValue(v)))") : .unchanged
    }
}

/// `missing`: no good reading for `timeout`. Notices silence through the
/// engine's `advance` (the latest time seen on any point, or the daemon's tick).
final class MissingDetector: PointDetector {
    let timeoutMilliseconds: Int64
    var lastGood: Int64?
    var firstSeen: Int64?

    init(_ p: DetectorParameters) { timeoutMilliseconds = p.milliseconds("timeout") }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        if firstSeen == nil { firstSeen = s.timestampMilliseconds }
        guard let v = s.value else { return advance(toMilliseconds: s.timestampMilliseconds, alarmActive: alarmActive) }
        lastGood = s.timestampMilliseconds
        return alarmActive ? .clear(value: v, message: "good readings again") : .unchanged
    }

    func advance(toMilliseconds now: Int64, alarmActive: Bool) -> DetectorVerdict {
        // A point that never reported is timed from when the engine first saw time pass.
        if firstSeen == nil { firstSeen = now }
        guard !alarmActive, let since = lastGood ?? firstSeen, now - since > timeoutMilliseconds else { return .unchanged }
        let what = lastGood == nil ? "no good reading yet" : "no good reading"
        return .raise(value: nil, message: "\(what) for \(formatDuration(milliseconds: now - since)) (limit \(formatDuration(milliseconds: timeoutMilliseconds)))")
    }

    func encodeState(into w: inout StateWriter) {
        w.put(lastGood ?? Int64.min)
    }

    func decodeState(from r: inout StateReader) throws {
        let t = try r.int64()
        lastGood = t == Int64.min ? nil : t
    }
}
