import GatewayModel

/// `continuous_flow`: a customer meter whose flow never reaches zero for
/// `duration` (a household uses no water at some point of every day; a leak
/// or a running cistern never stops).
final class ContinuousFlowDetector: PointDetector {
    let zeroFlow: Double
    let durationMilliseconds: Int64
    var flowingSince: Int64?
    var lowestSince = Double.infinity

    init(_ p: DetectorParameters) {
        zeroFlow = p.number("zero_flow") ?? 0
        durationMilliseconds = p.milliseconds("duration")
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        if v <= zeroFlow {
            flowingSince = nil
            lowestSince = .infinity
            return alarmActive ? .clear(value: v, message: "flow stopped (\(formatValue(v))): no continuous consumption any more") : .unchanged
        }
        if flowingSince == nil { flowingSince = s.timestampMilliseconds }
        lowestSince = min(lowestSince, v)
        let held = s.timestampMilliseconds - flowingSince!
        if !alarmActive && held >= durationMilliseconds {
            return .raise(value: v, message: "flow has not stopped for \(formatDuration(milliseconds: held)) (lowest \(formatValue(lowestSince))): possible leak or running tap after the meter")
        }
        return .unchanged
    }

    func encodeState(into w: inout StateWriter) {
        w.put(flowingSince ?? Int64.min)
        w.put(lowestSince)
    }

    func decodeState(from r: inout StateReader) throws {
        let t = try r.int64(), low = try r.double()
        flowingSince = t == Int64.min ? nil : t
        lowestSince = low
    }
}

/// `reverse_flow`: water flowing back through a meter (below `-threshold`) for `delay`: backflow or a meter fitted backwards.
final class ReverseFlowDetector: PointDetector {
    let threshold: Double
    var timer: PersistenceTimer

    init(_ p: DetectorParameters) {
        threshold = p.number("threshold") ?? 0
        timer = PersistenceTimer(delayMilliseconds: p.milliseconds("delay"))
    }

    func observe(_ s: Sample, alarmActive: Bool) -> DetectorVerdict {
        guard let v = s.value else { return .unchanged }
        if alarmActive {
            return v >= 0 ? .clear(value: v, message: "flow forward again (\(formatValue(v)))") : .unchanged
        }
        guard timer.update(v < -threshold, at: s.timestampMilliseconds) else { return .unchanged }
        timer.reset()
        return .raise(value: v, message: "reverse flow \(formatValue(v)): backflow, or a meter fitted the wrong way round")
    }
}
