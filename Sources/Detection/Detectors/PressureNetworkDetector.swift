#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import GatewayModel

/// `pressure_network`: a burst found by the pressure sensors near it, within the hour.
///
/// Demand moves every pressure sensor of a district together (evening peaks
/// pull them all down as much as a burst pulls one), so one sensor alone
/// cannot tell the two apart. This detector watches every sensor of the group
/// (devices whose id starts with `group`, same point name) and models each one
/// against the district's common mode: per `interval`, the mean of all sensors'
/// latest values. Each sensor's value is fitted as `a + b · common` by least
/// squares with exponential forgetting (half-life `learn`), so the fit follows
/// the season and, over days, absorbs a permanent change. A burst moves the
/// sensors near it more than the rest: their residual steps down.
///
/// The step is the mean residual over the last `window` minus the mean over the
/// `reference` period before it, in the sensor's own scale (RMS of its ordinary
/// steps, learned after `warmup`). Raised on the sensor whose step falls below
/// `-threshold` scales (and at least `min_drop` pressure units); one alarm for
/// the group at a time. Cleared when that sensor's residual has recovered half
/// of the drop (repair, or the fit has learned the new level).
///
/// A window should hold `min_samples` of the sensor's samples. Where sensors
/// report every 30 minutes (Hanoi) a 1-hour window holds two, its steps are
/// heavier-tailed than the learned scale says, and false alarms follow; there
/// the threshold rises by the square root of the shortfall (×1.41 for two
/// samples of four). Stretching the window instead was tried and made it
/// worse (a large leak bends the sensor's relation to the district, and longer
/// windows turn that daily swing into repeated alarms). At 5-minute sampling
/// (L-Town) nothing changes and a burst is seen within the hour.
///
/// A value identical to the sensor's previous one is a stuck sensor (the leak
/// data and real loggers hold the last value when a sample is lost): it does
/// not follow the common mode, so it is not used for that sensor's residual.
final class PressureNetworkDetector: PointDetector {
    let intervalMilliseconds: Int64
    /// Weight kept by the fit's sums per bucket (half-life `learn`).
    let keep: Double
    let learnMilliseconds: Int64
    let windowMilliseconds: Int64
    let referenceMilliseconds: Int64
    let threshold: Double
    let minDrop: Double
    let warmupMilliseconds: Int64
    let minSamples: Int
    let scaleRate = 0.002

    /// One member sensor.
    final class Sensor {
        var bucketSum = 0.0
        var bucketCount = 0
        /// Latest bucket mean (NaN until seen), for the common mode.
        var latest = Double.nan
        /// The previous bucket mean, to spot a stuck value.
        var previous = Double.nan
        // Exponentially weighted least-squares sums of y = a + b·x.
        var sw = 0.0, sx = 0.0, sxx = 0.0, sy = 0.0, sxy = 0.0
        var firstFit = Int64.min
        /// Recent residuals (time, residual), oldest first; those from `recentStart` on span window + reference.
        var recent: [(Int64, Double)] = []
        /// Residuals before this index have left the span. They are dropped in
        /// blocks, not one by one, so a bucket does not shift the whole array.
        var recentStart = 0
        /// Closest spacing of this sensor's buckets, to know how many residuals a window should hold.
        var spacing = Int64.max
        var lastBucketTime = Int64.min
        var meanSquareStep = 0.0
        var firstStep = Int64.min
        var stepCount = 0
    }

    var sensors: [PointID: Sensor] = [:]
    /// Sensors in the order they appeared (deterministic iteration).
    var order: [PointID] = []
    /// The sensors of `order`, in the same order, so closing a bucket costs no hashing.
    var ordered: [Sensor] = []
    /// Sensors by point id for small ids (catalog and replay ids are small and
    /// dense), so a sample costs an index instead of a hash; `nil` where not cached yet.
    var byPoint: [Sensor?] = []
    static let byPointLimit = 1 << 16
    var bucket = Int64.min
    /// While raised: the sensor, its level before the drop and the drop's size.
    var alarmed: PointID = -1
    var levelBefore = 0.0
    var dropSize = 0.0

    init(_ p: DetectorParameters) {
        intervalMilliseconds = max(1000, p.milliseconds("interval"))
        learnMilliseconds = max(intervalMilliseconds, p.milliseconds("learn"))
        keep = exp2(-Double(intervalMilliseconds) / Double(learnMilliseconds))
        windowMilliseconds = p.milliseconds("window")
        referenceMilliseconds = p.milliseconds("reference")
        threshold = p.number("threshold") ?? 7
        minDrop = p.number("min_drop") ?? 0
        warmupMilliseconds = p.milliseconds("warmup")
        minSamples = p.integer("min_samples")
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        let b = s.timestampMilliseconds / intervalMilliseconds
        var verdict = DetectorVerdict.unchanged
        if b != bucket {
            if bucket != Int64.min { verdict = closeBucket(endingAt: (bucket + 1) * intervalMilliseconds, alarmActive: alarmActive) }
            bucket = b
        }
        let i = Int(s.pointID)
        let sensor: Sensor
        if i >= 0 && i < byPoint.count, let cached = byPoint[i] { sensor = cached } else { sensor = member(s.pointID) }
        if let v = s.value {
            sensor.bucketSum += v
            sensor.bucketCount += 1
        }
        return verdict
    }

    /// The sensor of `id`, added to the group if new, and cached in `byPoint`.
    private func member(_ id: PointID) -> Sensor {
        let sensor: Sensor
        if let known = sensors[id] { sensor = known } else {
            sensor = Sensor()
            sensors[id] = sensor
            order.append(id)
            ordered.append(sensor)
        }
        let i = Int(id)
        if i >= 0 && i < PressureNetworkDetector.byPointLimit {
            if byPoint.count <= i { byPoint += Array(repeating: nil, count: i + 1 - byPoint.count) }
            byPoint[i] = sensor
        }
        return sensor
    }

    private func closeBucket(endingAt now: Int64, alarmActive: Bool) -> DetectorVerdict {
        // The common mode uses every sensor's latest value, stuck or not: one
        // stuck sensor among many barely moves it, and dropping it would.
        var means: [(PointID, Sensor, Double)] = []
        for (id, sensor) in zip(order, ordered) {
            guard sensor.bucketCount > 0 else { continue }
            let mean = sensor.bucketSum / Double(sensor.bucketCount)
            sensor.bucketSum = 0
            sensor.bucketCount = 0
            means.append((id, sensor, mean))
            sensor.latest = mean
        }
        guard !means.isEmpty else { return .unchanged }
        var commonSum = 0.0, commonCount = 0
        for sensor in ordered where !sensor.latest.isNaN { commonSum += sensor.latest; commonCount += 1 }
        guard commonCount >= 2 else { return .unchanged }
        let common = commonSum / Double(commonCount)

        var verdict = DetectorVerdict.unchanged
        for (id, sensor, y) in means {
            let stuck = y == sensor.previous
            sensor.previous = y
            if sensor.lastBucketTime != Int64.min { sensor.spacing = min(sensor.spacing, now - sensor.lastBucketTime) }
            sensor.lastBucketTime = now
            guard !stuck else { continue }
            if let residual = residual(of: sensor, y: y, x: common, at: now) {
                let v = step(sensor: sensor, id: id, residual: residual, value: y, at: now, alarmActive: alarmActive)
                if case .unchanged = verdict { verdict = v }
            }
            fit(sensor, y: y, x: common, at: now)
        }
        return verdict
    }

    /// The residual of `y` against the sensor's current fit, once the fit has
    /// seen a day of data; `nil` before.
    private func residual(of s: Sensor, y: Double, x: Double, at now: Int64) -> Double? {
        guard s.firstFit != Int64.min, now - s.firstFit >= CivilTime.dayMilliseconds else { return nil }
        let det = s.sw * s.sxx - s.sx * s.sx
        // The common mode must have moved during the fit, or the slope is unknown.
        guard s.sw > 0, det > 1e-12 * s.sw * s.sw else { return y - s.sy / max(s.sw, 1e-12) }
        let slope = (s.sw * s.sxy - s.sx * s.sy) / det
        let intercept = (s.sy - slope * s.sx) / s.sw
        return y - (intercept + slope * x)
    }

    private func fit(_ s: Sensor, y: Double, x: Double, at now: Int64) {
        if s.firstFit == Int64.min { s.firstFit = now }
        s.sw = keep * s.sw + 1
        s.sx = keep * s.sx + x
        s.sxx = keep * s.sxx + x * x
        s.sy = keep * s.sy + y
        s.sxy = keep * s.sxy + x * y
    }

    private func step(sensor s: Sensor, id: PointID, residual: Double, value: Double, at now: Int64, alarmActive: Bool) -> DetectorVerdict {
        s.recent.append((now, residual))
        let span = windowMilliseconds + referenceMilliseconds, window = windowMilliseconds
        var start = s.recentStart
        var lastSum = 0.0, lastCount = 0, refSum = 0.0, refCount = 0
        s.recent.withUnsafeBufferPointer { recent in
            while start < recent.count && now - recent[start].0 >= span { start += 1 }
            for (t, r) in recent[start...] {
                if now - t < window { lastSum += r; lastCount += 1 } else { refSum += r; refCount += 1 }
            }
        }
        if start >= 64 && start * 2 >= s.recent.count {
            s.recent.removeFirst(start)
            start = 0
        }
        s.recentStart = start
        let lastMean = lastSum / Double(max(lastCount, 1))
        if alarmActive {
            if id == alarmed && lastMean > levelBefore - dropSize / 2 {
                alarmed = -1
                return .clear(value: value, message: "pressure \(formatValue(value)) has recovered against the rest of the district")
            }
            return .unchanged
        }
        // Half the expected residuals in each part, or the means are too thin to compare.
        let spacing = max(s.spacing == Int64.max ? intervalMilliseconds : s.spacing, 1)
        let expectedLast = max(1, Int(windowMilliseconds / spacing))
        let expectedRef = max(1, Int(referenceMilliseconds / spacing))
        guard lastCount * 2 >= expectedLast, refCount * 2 >= expectedRef, refCount > 0 else { return .unchanged }
        let refMean = refSum / Double(refCount)
        let step = lastMean - refMean
        if s.firstStep == Int64.min { s.firstStep = now }
        if now - s.firstStep < warmupMilliseconds || s.stepCount < 10 {
            s.stepCount += 1
            s.meanSquareStep += (step * step - s.meanSquareStep) / Double(s.stepCount)
            return .unchanged
        }
        let scale = max(s.meanSquareStep.squareRoot(), 1e-9)
        let z = step / scale
        // The scale learns from ordinary steps only, so a burst does not widen it.
        if abs(z) < 4 { s.meanSquareStep += scaleRate * (step * step - s.meanSquareStep) }
        // A window holding fewer than `minSamples` samples gives a heavier-tailed step: the threshold rises with the square root of the shortfall.
        let shortfall = max(1, Double(minSamples) * Double(spacing) / Double(max(windowMilliseconds, 1)))
        if z < -threshold * shortfall.squareRoot() && -step >= minDrop {
            alarmed = id
            levelBefore = refMean
            dropSize = -step
            return .raiseOn(pointID: id, value: value,
                            message: "pressure \(formatValue(value)) dropped by \(formatValue(-step)) against the rest of the district within \(formatDuration(milliseconds: windowMilliseconds)): possible burst near this sensor")
        }
        return .unchanged
    }

    func encodeState(into w: inout StateWriter) {
        w.put(UInt8(1))
        w.put(bucket)
        w.put(Int64(alarmed))
        w.put(levelBefore)
        w.put(dropSize)
        w.put(order.count)
        for id in order {
            let s = sensors[id]!
            let recent = s.recent[s.recentStart...]
            w.put(Int64(id))
            w.put([s.bucketSum, s.latest, s.previous, s.sw, s.sx, s.sxx, s.sy, s.sxy, s.meanSquareStep])
            for i in [Int64(s.bucketCount), s.firstFit, s.spacing, s.lastBucketTime, s.firstStep, Int64(s.stepCount)] { w.put(i) }
            w.put(recent.map { Double($0.0) })
            w.put(recent.map(\.1))
        }
    }

    func decodeState(from r: inout StateReader) throws {
        guard try r.byte() == 1 else { throw StateDecodingFailed() }
        let b = try r.int64(), a = try r.int64(), before = try r.double(), size = try r.double()
        let n = try r.int()
        guard n >= 0 && n < 100_000 else { throw StateDecodingFailed() }
        var restored: [PointID: Sensor] = [:], ids: [PointID] = []
        for _ in 0..<n {
            let id = PointID(truncatingIfNeeded: try r.int64())
            let f = try r.doubles()
            var i: [Int64] = []
            for _ in 0..<6 { i.append(try r.int64()) }
            let times = try r.doubles(), residuals = try r.doubles()
            guard f.count == 9, times.count == residuals.count, i[0] >= 0, i[5] >= 0 else { throw StateDecodingFailed() }
            let s = Sensor()
            s.bucketSum = f[0]; s.latest = f[1]; s.previous = f[2]
            s.sw = f[3]; s.sx = f[4]; s.sxx = f[5]; s.sy = f[6]; s.sxy = f[7]; s.meanSquareStep = f[8]
            s.bucketCount = Int(i[0]); s.firstFit = i[1]; s.spacing = i[2]; s.lastBucketTime = i[3]
            s.firstStep = i[4]; s.stepCount = Int(i[5])
            s.recent = zip(times, residuals).map { (Int64($0.0), $0.1) }
            restored[id] = s
            ids.append(id)
        }
        bucket = b; alarmed = PointID(truncatingIfNeeded: a); levelBefore = before; dropSize = size
        sensors = restored; order = ids
        ordered = ids.map { restored[$0]! }
        byPoint = []
    }
}
