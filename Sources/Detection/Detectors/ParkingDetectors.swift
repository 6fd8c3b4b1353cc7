import GatewayModel

// Parking detectors watch the occupancy point: 0 free, 1 occupied, 2 detector fault.

/// `bay_occupied_too_long`: a bay occupied without a break for longer than `max_duration`.
final class BayOccupiedTooLongDetector: PointDetector {
    let maxMilliseconds: Int64
    var occupiedSince: Int64?

    init(_ p: DetectorParameters) { maxMilliseconds = p.milliseconds("max_duration") }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        if v == 1 {
            if occupiedSince == nil { occupiedSince = s.timestampMilliseconds }
            let held = s.timestampMilliseconds - occupiedSince!
            if !alarmActive && held > maxMilliseconds {
                return .raise(value: v, message: "bay occupied for \(formatDuration(milliseconds: held)), longer than the \(formatDuration(milliseconds: maxMilliseconds)) allowed")
            }
            return .unchanged
        }
        if v == 0 { occupiedSince = nil }
        return alarmActive && v == 0 ? .clear(value: v, message: "bay free again") : .unchanged
    }

    func encodeState(into w: inout StateWriter) { w.put(occupiedSince ?? Int64.min) }

    func decodeState(from r: inout StateReader) throws {
        let t = try r.int64()
        occupiedSince = t == Int64.min ? nil : t
    }
}

/// `bay_flapping`: more than `max_changes` free/occupied changes within `window`
/// (a detector confused by a parked car's edge, or failing).
final class BayFlappingDetector: PointDetector {
    let maxChanges: Int
    let windowMilliseconds: Int64
    var lastState: Double?
    var changes: [Int64] = []

    init(_ p: DetectorParameters) {
        maxChanges = p.integer("max_changes")
        windowMilliseconds = p.milliseconds("window")
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value, v == 0 || v == 1 else { return .unchanged }
        let now = s.timestampMilliseconds
        if let lastState, lastState != v { changes.append(now) }
        lastState = v
        // Drop changes older than the window (kept in time order).
        var drop = 0
        while drop < changes.count && now - changes[drop] > windowMilliseconds { drop += 1 }
        if drop > 0 { changes.removeFirst(drop) }
        if !alarmActive && changes.count > maxChanges {
            return .raise(value: v, message: "bay changed state \(changes.count) times in \(formatDuration(milliseconds: windowMilliseconds)) (limit \(maxChanges)): detector flapping")
        }
        if alarmActive && changes.count <= maxChanges / 2 {
            return .clear(value: v, message: "bay state steady again")
        }
        return .unchanged
    }
}

/// `detector_fault`: the bay detector reports its own fault (state 2, or quality `device_fault`) for `delay`.
final class DetectorFaultDetector: PointDetector {
    var timer: PersistenceTimer

    init(_ p: DetectorParameters) { timer = PersistenceTimer(delayMilliseconds: p.milliseconds("delay")) }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        let faulty = s.quality == .deviceFault || s.value == 2
        if alarmActive {
            if let v = s.value, v == 0 || v == 1 { timer.reset(); return .clear(value: v, message: "bay detector working again") }
            return .unchanged
        }
        guard s.value != nil || s.quality == .deviceFault else { return .unchanged }
        guard timer.update(faulty, at: s.timestampMilliseconds) else { return .unchanged }
        return .raise(value: s.value, message: "bay detector reports a fault: check the sensor and its battery")
    }
}
