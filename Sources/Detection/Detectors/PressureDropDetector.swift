import GatewayModel

/// `pressure_drop`: a burst pulls pressure down within minutes, and it stays down.
///
/// The detector learns what this sensor reads at each `slot` of each weekday
/// (the median of the same slot over the last `profile_weeks` weeks, so the
/// profile follows the season and absorbs a permanent change after a few
/// weeks). On the residual against that profile it compares the mean of the
/// last `window` with the mean of the `reference` period just before it: a
/// burst is a step down; slow demand swings and a day that runs a little
/// low all along cancel out. The step is measured in the sensor's own scale
/// (the RMS of the step statistic over ordinary times) and raises when it goes
/// below `-threshold` scales and at least `min_drop` pressure units. It clears
/// when the residual has recovered half of the drop (repair, or the profile
/// has learned the new level).
final class PressureDropDetector: PointDetector {
    let utcOffset: Int64
    let slotMilliseconds: Int64
    let slotsPerDay: Int
    let weeks: Int
    let windowMilliseconds: Int64
    let referenceMilliseconds: Int64
    let threshold: Double
    let minDrop: Double
    /// Step statistics needed before the scale is trusted.
    let warmupSteps = 576
    let scaleRate = 0.002

    /// profile[(weekday * slotsPerDay + slot) * weeks + week % weeks], NaN when unknown.
    var profile: [Double]
    var slotKey = Int64.min
    var slotSum = 0.0
    var slotCount = 0
    /// Recent residuals (time, residual), oldest first, spanning window + reference.
    var recent: [(Int64, Double)] = []
    var meanSquareStep = 0.0
    var stepCount = 0
    /// While raised: the level before the drop and its size.
    var levelBefore = 0.0
    var dropSize = 0.0
    var scratch: [Double] = []

    init(_ p: DetectorParameters) {
        utcOffset = p.offsetMilliseconds("utc_offset")
        slotMilliseconds = max(60_000, p.milliseconds("slot"))
        slotsPerDay = Int((CivilTime.dayMilliseconds + slotMilliseconds - 1) / slotMilliseconds)
        weeks = p.integer("profile_weeks")
        windowMilliseconds = p.milliseconds("window")
        referenceMilliseconds = p.milliseconds("reference")
        threshold = p.number("threshold") ?? 10
        minDrop = p.number("min_drop") ?? 0
        profile = [Double](repeating: .nan, count: 7 * slotsPerDay * weeks)
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        let now = s.timestampMilliseconds
        let civil = CivilTime(epochMilliseconds: now, utcOffsetMilliseconds: utcOffset)
        let slot = Int(civil.timeOfDay / slotMilliseconds)
        let key = civil.day * Int64(slotsPerDay) + Int64(slot)
        if key != slotKey {
            storeSlot()
            slotKey = key
        }
        slotSum += v
        slotCount += 1

        let base = (civil.weekday * slotsPerDay + slot) * weeks
        scratch.removeAll(keepingCapacity: true)
        for w in 0..<weeks where !profile[base + w].isNaN { scratch.append(profile[base + w]) }
        guard scratch.count >= 2 else { return .unchanged }
        scratch.sort()
        let expected = scratch.median
        let residual = v - expected

        recent.append((now, residual))
        var drop = 0
        while drop < recent.count && now - recent[drop].0 >= windowMilliseconds + referenceMilliseconds { drop += 1 }
        if drop > 0 { recent.removeFirst(drop) }
        var lastSum = 0.0, lastCount = 0, refSum = 0.0, refCount = 0
        for (t, r) in recent {
            if now - t < windowMilliseconds { lastSum += r; lastCount += 1 } else { refSum += r; refCount += 1 }
        }
        guard lastCount > 0 else { return .unchanged }
        let lastMean = lastSum / Double(lastCount)
        if alarmActive {
            if lastMean > levelBefore - dropSize / 2 {
                return .clear(value: v, message: "pressure \(formatValue(v)) has recovered (usual for this time: \(formatValue(expected)))")
            }
            return .unchanged
        }
        guard refCount > 0 else { return .unchanged }
        let refMean = refSum / Double(refCount)
        let step = lastMean - refMean
        if stepCount < warmupSteps {
            stepCount += 1
            meanSquareStep += (step * step - meanSquareStep) / Double(stepCount)
            return .unchanged
        }
        let scale = max(meanSquareStep.squareRoot(), 1e-9)
        let z = step / scale
        // The scale learns from ordinary steps only, so a burst does not widen it.
        if abs(z) < 4 { meanSquareStep += scaleRate * (step * step - meanSquareStep) }
        if z < -threshold && -step >= minDrop {
            levelBefore = refMean
            dropSize = -step
            return .raise(value: v, message: "pressure \(formatValue(v)) dropped by \(formatValue(-step)) within \(formatDuration(milliseconds: windowMilliseconds)) and stays below its usual \(formatValue(expected)) for this time: possible burst nearby")
        }
        return .unchanged
    }

    private func storeSlot() {
        guard slotCount > 0, slotKey != Int64.min else { slotSum = 0; slotCount = 0; return }
        let day = slotKey / Int64(slotsPerDay)
        let slot = Int(slotKey % Int64(slotsPerDay))
        let weekday = CivilTime(epochMilliseconds: day * CivilTime.dayMilliseconds, utcOffsetMilliseconds: 0).weekday
        let week = Int((day / 7) % Int64(weeks))
        profile[(weekday * slotsPerDay + slot) * weeks + week] = slotSum / Double(slotCount)
        slotSum = 0
        slotCount = 0
    }

    func encodeState(into w: inout StateWriter) {
        w.put(UInt8(2))
        w.put(profile)
        w.put(slotKey)
        w.put(slotSum)
        w.put(slotCount)
        w.put(recent.map { Double($0.0) })
        w.put(recent.map(\.1))
        w.put(meanSquareStep)
        w.put(stepCount)
        w.put(levelBefore)
        w.put(dropSize)
    }

    func decodeState(from r: inout StateReader) throws {
        guard try r.byte() == 2 else { throw StateDecodingFailed() }
        let p = try r.doubles()
        guard p.count == profile.count else { throw StateDecodingFailed() }
        let sk = try r.int64(), ss = try r.double(), sc = try r.int()
        let times = try r.doubles(), residuals = try r.doubles()
        let msq = try r.double(), n = try r.int(), before = try r.double(), size = try r.double()
        guard times.count == residuals.count else { throw StateDecodingFailed() }
        profile = p; slotKey = sk; slotSum = ss; slotCount = sc
        recent = zip(times, residuals).map { (Int64($0.0), $0.1) }
        meanSquareStep = msq; stepCount = n; levelBefore = before; dropSize = size
    }
}
