import GatewayModel

/// `night_flow`: the minimum-night-flow method on a district inlet flow.
///
/// Each night the mean flow over the night window (default 02:00–04:00 local)
/// is compared with what that weekday's night should be: a level (median of
/// the last `baseline_nights` unflagged nights, each divided by its weekday's
/// factor) times the weekday factor (Friday and Saturday nights run higher than
/// Monday's, learned from the first `learning_nights` and then followed slowly).
/// Because the level is a rolling median it follows the season; because each
/// weekday has its own factor, weekends do not look like leaks.
///
/// Raised when the night exceeds its expectation by `threshold_percent` and by
/// `min_excess` (flow units); cleared when a night comes back under half the
/// threshold. A rise that stays `relearn_nights` nights in a row is accepted as
/// the new normal (the baseline re-learns, the alarm clears saying so), so the
/// next leak on top of it can be seen.
///
/// A leak that grows over weeks is followed by that rolling baseline and never
/// stands out from one night to the next, so a trend test runs beside it: the
/// median of the last seven weekday-normalised nights against the median of the
/// same seven nights `trend_weeks` earlier. Seasonal drift moves night flow by
/// at most about 14 % in six weeks on the leak-dev data (L-Town and Hanoi, no
/// leak), so a rise beyond `trend_percent` held `trend_nights` nights in a row
/// raises. It clears when the rise falls under half of that (the reference has
/// caught up, or the leak was repaired). A step alarm restarts the trend test,
/// so a burst already reported is not reported again as a trend.
final class NightFlowDetector: PointDetector {
    let utcOffset: Int64
    let windowStart: Int64
    let windowEnd: Int64
    let threshold: Double
    let minExcess: Double
    let baselineNights: Int
    let learningNights: Int
    let relearnNights: Int
    let factorRate = 0.1
    let trendThreshold: Double
    let trendWeeks: Int
    let trendNights: Int

    // The night being accumulated.
    var nightDay = Int64.min
    var sum = 0.0
    var count = 0
    // Learning: (weekday, mean) of the first nights.
    var learning: [(Int, Double)] = []
    var factors: [Double] = []  // empty until learned
    /// Weekday-normalised means of recent unflagged nights, oldest first.
    var history: [Double] = []
    /// Weekday-normalised means of the current run of flagged nights.
    var flagged: [Double] = []
    /// Weekday-normalised means of the current run of nights far below the baseline.
    var low: [Double] = []
    /// Weekday-normalised means of every night since learning (or the last step alarm), at most `trendWeeks + 1` weeks.
    var trend: [Double] = []
    /// Nights in a row the trend has been above its threshold.
    var trendRun = 0
    /// The active alarm was raised by the trend test (it clears by the trend, not by the nightly baseline).
    var trendAlarm = false

    init(_ p: DetectorParameters) {
        utcOffset = p.offsetMilliseconds("utc_offset")
        windowStart = p.milliseconds("window_start")
        windowEnd = p.milliseconds("window_end")
        threshold = (p.number("threshold_percent") ?? 8) / 100
        minExcess = p.number("min_excess") ?? 0
        baselineNights = p.integer("baseline_nights")
        learningNights = p.integer("learning_nights")
        relearnNights = p.integer("relearn_nights")
        trendThreshold = (p.number("trend_percent") ?? 20) / 100
        trendWeeks = p.integer("trend_weeks")
        trendNights = p.integer("trend_nights")
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        let civil = CivilTime(epochMilliseconds: s.timestampMilliseconds, utcOffsetMilliseconds: utcOffset)
        let t = civil.timeOfDay
        let wraps = windowStart > windowEnd
        let inWindow = wraps ? (t >= windowStart || t < windowEnd) : (t >= windowStart && t < windowEnd)
        var verdict = DetectorVerdict.unchanged
        if !inWindow || (wraps && t >= windowStart ? civil.day + 1 : civil.day) != nightDay {
            if count > 0 { verdict = closeNight(alarmActive: alarmActive, at: s) }
            sum = 0
            count = 0
            nightDay = Int64.min
        }
        if inWindow, let v = s.value {
            nightDay = wraps && t >= windowStart ? civil.day + 1 : civil.day
            sum += v
            count += 1
        }
        return verdict
    }

    private func closeNight(alarmActive: Bool, at s: Sample) -> DetectorVerdict {
        let mean = sum / Double(count)
        let weekday = CivilTime(epochMilliseconds: nightDay * CivilTime.dayMilliseconds, utcOffsetMilliseconds: 0).weekday
        if factors.isEmpty {
            learning.append((weekday, mean))
            if learning.count >= learningNights { finishLearning() }
            return .unchanged
        }
        if !alarmActive { trendAlarm = false }
        let step = compareWithBaseline(mean: mean, weekday: weekday, alarmActive: alarmActive)
        let rise = followTrend(mean / factors[weekday], alarmActive: alarmActive)
        if case .unchanged = step { return rise }
        return step
    }

    /// The nightly test: this night against its weekday's expectation.
    private func compareWithBaseline(mean: Double, weekday: Int, alarmActive: Bool) -> DetectorVerdict {
        var sorted = history
        sorted.sort()
        let level = sorted.median
        let expected = level * factors[weekday]
        let excess = mean / expected - 1
        let name = CivilTime.weekdayNames[weekday]
        if excess > threshold && mean - expected > minExcess {
            flagged.append(mean / factors[weekday])
            if !alarmActive {
                // This rise is reported now; the trend test starts afresh so it does not report it again.
                trend = []
                trendRun = 0
                return .raise(value: mean, message: "night flow \(formatValue(mean)) is \(formatValue(excess * 100)) % above its \(formatValue(expected)) baseline for a \(name) night: possible leak")
            }
            if flagged.count >= relearnNights {
                history = Array(flagged.suffix(baselineNights))
                flagged = []
                if trendAlarm { return .unchanged }
                return .clear(value: mean, message: "night flow has stayed near \(formatValue(mean)) for \(relearnNights) nights; accepted as the new baseline (check the district if no leak was repaired)")
            }
            return .unchanged
        }
        flagged = []
        // Two nights in a row well below the baseline (a leak repaired after the
        // baseline had accepted it) make those nights the baseline at once, so
        // the next leak is not hidden behind a stale, high median.
        if excess < -threshold {
            low.append(mean / factors[weekday])
            if low.count >= 2 { history = low; low = [] }
            if alarmActive { trendAlarm = false }
            return alarmActive ? .clear(value: mean, message: "night flow \(formatValue(mean)) back below its \(formatValue(expected)) baseline") : .unchanged
        }
        low = []
        history.append(mean / factors[weekday])
        if history.count > baselineNights { history.removeFirst(history.count - baselineNights) }
        // Follow slow changes in the weekday pattern (holidays, seasons) from
        // ordinary nights only: one odd night must not bend its weekday.
        if level > 0 && abs(excess) < threshold { factors[weekday] += factorRate * (mean / level - factors[weekday]) }
        if alarmActive && !trendAlarm && excess < threshold / 2 {
            return .clear(value: mean, message: "night flow \(formatValue(mean)) back near its \(formatValue(expected)) baseline")
        }
        return .unchanged
    }

    /// The trend test: the median of the last seven nights against the
    /// median of seven nights `trendWeeks` earlier (both weekday-normalised).
    private func followTrend(_ night: Double, alarmActive: Bool) -> DetectorVerdict {
        guard trendThreshold > 0 else { return .unchanged }
        trend.append(night)
        let span = 7 * (trendWeeks + 1)
        if trend.count > span { trend.removeFirst(trend.count - span) }
        guard trend.count == span else { return .unchanged }
        var recent = Array(trend.suffix(7)), earlier = Array(trend.prefix(7))
        recent.sort()
        earlier.sort()
        guard earlier.median > 0 else { return .unchanged }
        let rise = recent.median / earlier.median - 1
        if trendAlarm {
            guard rise < trendThreshold / 2 else { return .unchanged }
            trendAlarm = false
            trendRun = 0
            return .clear(value: night, message: "night flow no longer rising: \(formatValue(rise * 100)) % over \(trendWeeks) weeks")
        }
        trendRun = rise > trendThreshold ? trendRun + 1 : 0
        guard trendRun >= trendNights, !alarmActive else { return .unchanged }
        trendAlarm = true
        return .raise(value: night, message: "night flow has risen \(formatValue(rise * 100)) % in \(trendWeeks) weeks (weekly median \(formatValue(recent.median)) against \(formatValue(earlier.median)), weekday-adjusted), more than the season moves it: possible growing leak")
    }

    private func finishLearning() {
        var means = learning.map(\.1)
        means.sort()
        let level = means.median
        guard level > 0 else { learning.removeFirst(); return }
        var f = [Double](repeating: 1, count: 7)
        for d in 0..<7 {
            let ratios = learning.filter { $0.0 == d }.map { $0.1 / level }
            if !ratios.isEmpty { f[d] = ratios.reduce(0, +) / Double(ratios.count) }
        }
        factors = f
        history = learning.suffix(baselineNights).map { $0.1 / f[$0.0] }
        learning = []
    }

    func encodeState(into w: inout StateWriter) {
        w.put(UInt8(2))
        w.put(nightDay)
        w.put(sum)
        w.put(count)
        w.put(learning.map { Double($0.0) })
        w.put(learning.map(\.1))
        w.put(factors)
        w.put(history)
        w.put(flagged)
        w.put(low)
        w.put(trend)
        w.put(trendRun)
        w.put(trendAlarm)
    }

    func decodeState(from r: inout StateReader) throws {
        // Version 1 (round 2) had no trend test: it starts afresh.
        let version = try r.byte()
        guard version == 1 || version == 2 else { throw StateDecodingFailed() }
        let nd = try r.int64(), s = try r.double(), c = try r.int()
        let days = try r.doubles(), means = try r.doubles()
        let f = try r.doubles(), h = try r.doubles(), fl = try r.doubles(), lo = try r.doubles()
        guard days.count == means.count, f.isEmpty || f.count == 7 else { throw StateDecodingFailed() }
        nightDay = nd; sum = s; count = c
        learning = zip(days, means).map { (Int($0.0), $0.1) }
        factors = f; history = h; flagged = fl; low = lo
        trend = []; trendRun = 0; trendAlarm = false
        if version == 2 {
            let t = try r.doubles(), run = try r.int(), raised = try r.bool()
            guard run >= 0 else { throw StateDecodingFailed() }
            trend = t; trendRun = run; trendAlarm = raised
        }
    }
}
