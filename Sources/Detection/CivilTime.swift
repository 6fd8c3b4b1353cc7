/// Calendar arithmetic on epoch milliseconds, without Foundation: detectors
/// that know the time of day and the day of the week (night flow, pressure
/// profiles) work in the district's local standard time, `utc_offset` away
/// from UTC (no daylight-saving shifts: water demand follows the clock people
/// live by, but a one-hour shift twice a year only blurs a profile slot).
struct CivilTime {
    static let dayMilliseconds: Int64 = 86_400_000

    /// Local day number (days since 1970-01-01 in local time).
    let day: Int64
    /// Milliseconds since local midnight.
    let timeOfDay: Int64

    init(epochMilliseconds: Int64, utcOffsetMilliseconds: Int64) {
        let local = epochMilliseconds + utcOffsetMilliseconds
        var d = local / CivilTime.dayMilliseconds
        var t = local % CivilTime.dayMilliseconds
        if t < 0 { t += CivilTime.dayMilliseconds; d -= 1 }
        day = d
        timeOfDay = t
    }

    /// 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday).
    var weekday: Int {
        let w = Int((day + 3) % 7)
        return w < 0 ? w + 7 : w
    }

    static let weekdayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
}

/// Formats numbers for alarm messages: at most a few significant decimals, no exponent for everyday magnitudes.
func formatValue(_ v: Double) -> String {
    guard v.isFinite else { return "\(v)" }
    let a = abs(v)
    let decimals = a >= 100 ? 1 : (a >= 1 ? 2 : 3)
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (v * scale).rounded() / scale
    if r == r.rounded() && abs(r) < 1e15 { return "\(Int64(r))" }
    var s = "\(r)"
    if s.contains("e" as Character) { s = "\(v)" }
    return s
}

func formatDuration(milliseconds ms: Int64) -> String {
    if ms >= 86_400_000 && ms % 3_600_000 == 0 {
        let h = ms / 3_600_000
        return h % 24 == 0 ? "\(h / 24) d" : "\(h) h"
    }
    if ms >= 3_600_000 {
        let h = Double(ms) / 3_600_000
        return h == h.rounded() ? "\(Int(h)) h" : "\(formatValue(h)) h"
    }
    if ms >= 60_000 { return "\(ms / 60_000) min" }
    return "\(ms / 1000) s"
}
