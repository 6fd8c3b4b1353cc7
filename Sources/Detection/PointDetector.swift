import GatewayModel

/// One sample as a detector sees it.
struct Sample {
    var timestampMilliseconds: Int64
    /// `nil` when the quality is not good: such readings are not values.
    var value: Double?
    var quality: Quality
    /// The point the sample belongs to (group detectors see several).
    var pointID: PointID = -1
}

/// What a detector concludes from one sample. The engine turns `raise` into a
/// transition only when no alarm is active, and `clear` only when one is, so a
/// detector may repeat itself without causing a storm.
enum DetectorVerdict {
    case unchanged
    case raise(value: Double?, message: String)
    /// A group detector's alarm names the member point that caused it.
    case raiseOn(pointID: PointID, value: Double?, message: String)
    case clear(value: Double?, message: String)
}

/// A detector attached to one point. Single owner (the engine), no I/O, no clock:
/// time comes from the samples. Hysteresis lives in the detector: `alarmActive`
/// tells it which threshold (raise or clear) applies now.
protocol PointDetector: AnyObject {
    func observe(_ sample: Sample, alarmActive: Bool) -> DetectorVerdict
    /// Called with the latest time seen on any point, for detectors that alarm on silence.
    func advance(toMilliseconds now: Int64, alarmActive: Bool) -> DetectorVerdict
    /// Learning state to persist (the engine adds the alarm state itself).
    func encodeState(into writer: inout StateWriter)
    func decodeState(from reader: inout StateReader) throws
}

extension PointDetector {
    func advance(toMilliseconds now: Int64, alarmActive: Bool) -> DetectorVerdict { .unchanged }
    func encodeState(into writer: inout StateWriter) {}
    func decodeState(from reader: inout StateReader) throws {}
}

/// A condition that must hold for `delay` before it counts, shared by the
/// threshold detectors (range, voltage, reverse flow...).
struct PersistenceTimer {
    let delayMilliseconds: Int64
    private(set) var since: Int64?

    init(delayMilliseconds: Int64) { self.delayMilliseconds = delayMilliseconds }

    /// Feeds whether the condition holds at `ts`; true once it has held for the delay.
    mutating func update(_ holds: Bool, at ts: Int64) -> Bool {
        guard holds else { since = nil; return false }
        if since == nil { since = ts }
        return ts - since! >= delayMilliseconds
    }

    mutating func reset() { since = nil }
}
