import GatewayModel

/// `pressure_drop`: a burst pulls pressure down within minutes.
///
/// The detector learns what this sensor reads at each `slot` of each weekday
/// (the median of the same slot over the last `profile_weeks` weeks, so the
/// profile follows the season and absorbs a permanent change after a few
/// weeks) and runs a one-sided CUSUM on the residual, in units of the sensor's
/// own robust residual scale: S = max(0, S − z − allowance). It raises when S
/// passes `decision` and the recent residual is at least `min_drop` below the
/// profile; it clears when S has fallen back to zero.
final class PressureDropDetector: PointDetector {
    let utcOffset: Int64
    let slotMilliseconds: Int64
    let slotsPerDay: Int
    let weeks: Int
    let allowance: Double
    let decision: Double
    let minDrop: Double
    let minSigma: Double
    /// Residuals needed before the scale is trusted.
    let warmupResiduals = 288
    let scaleRate = 0.005

    /// profile[(weekday * slotsPerDay + slot) * weeks + week % weeks], NaN when unknown.
    var profile: [Double]
    var slotKey = Int64.min
    var slotSum = 0.0
    var slotCount = 0
    var meanAbsResidual = 0.0
    var residualCount = 0
    var cusum = 0.0
    var recentResidual = 0.0
    var scratch: [Double] = []

    init(_ p: DetectorParameters) {
        utcOffset = p.offsetMilliseconds("utc_offset")
        slotMilliseconds = max(60_000, p.milliseconds("slot"))
        slotsPerDay = Int((CivilTime.dayMilliseconds + slotMilliseconds - 1) / slotMilliseconds)
        weeks = p.integer("profile_weeks")
        allowance = p.number("allowance") ?? 1
        decision = p.number("decision") ?? 10
        minDrop = p.number("min_drop") ?? 0
        minSigma = p.number("min_sigma") ?? 0
        profile = [Double](repeating: .nan, count: 7 * slotsPerDay * weeks)
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        let civil = CivilTime(epochMilliseconds: s.timestampMilliseconds, utcOffsetMilliseconds: utcOffset)
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
        recentResidual += 0.3 * (residual - recentResidual)

        let sigma = max(meanAbsResidual * 1.2533, minSigma, 1e-9)
        if residualCount < warmupResiduals {
            residualCount += 1
            meanAbsResidual += (abs(residual) - meanAbsResidual) / Double(residualCount)
            return .unchanged
        }
        let z = residual / sigma
        // The scale learns from ordinary residuals only, so a burst does not widen it.
        if !alarmActive && cusum == 0 && abs(z) < 4 { meanAbsResidual += scaleRate * (abs(residual) - meanAbsResidual) }
        cusum = min(max(0, cusum - z - allowance), 2 * decision)
        if alarmActive {
            return cusum == 0 ? .clear(value: v, message: "pressure \(formatValue(v)) back to its usual \(formatValue(expected)) for this time") : .unchanged
        }
        if cusum > decision && -recentResidual >= minDrop {
            return .raise(value: v, message: "pressure \(formatValue(v)) is \(formatValue(-recentResidual)) below its usual \(formatValue(expected)) for this time of day: possible burst nearby")
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
        w.put(UInt8(1))
        w.put(profile)
        w.put(slotKey)
        w.put(slotSum)
        w.put(slotCount)
        w.put(meanAbsResidual)
        w.put(residualCount)
        w.put(cusum)
        w.put(recentResidual)
    }

    func decodeState(from r: inout StateReader) throws {
        guard try r.byte() == 1 else { throw StateDecodingFailed() }
        let p = try r.doubles()
        guard p.count == profile.count else { throw StateDecodingFailed() }
        let sk = try r.int64(), ss = try r.double(), sc = try r.int()
        let mar = try r.double(), rc = try r.int(), cs = try r.double(), rr = try r.double()
        profile = p; slotKey = sk; slotSum = ss; slotCount = sc
        meanAbsResidual = mar; residualCount = rc; cusum = cs; recentResidual = rr
    }
}
