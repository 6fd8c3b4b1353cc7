import Detection
import GatewayModel

/// What a replay did, for the summary line on stderr.
public struct ReplaySummary: Sendable, Equatable {
    public var rows: Int
    /// Distinct (device, point) pairs met.
    public var points: Int
    public var raised: Int
    public var cleared: Int
    public var seconds: Double
    /// Detectors whose device/point never appeared in the file (they saw nothing).
    public var unresolvedDetectors: [String]

    public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
}

/// The offline replay `gatewayctl detect --replay` runs: reader → detection
/// engine → JSON lines. Blocking: reading and parsing run on a thread of its
/// own (`replay-read`), detection on the caller's; call it from a plain thread
/// or the command's main thread. The reader thread is joined before it returns.
public enum ReplayRun {
    /// Runs `detectors` over the CSV at `csvPath` and passes each alarm
    /// transition to `write` as one JSON line (without newline):
    /// `{"ts":…,"device":…,"point":…,"type":…,"state":"raised"|"cleared","value":…,"message":…,"id":…,"severity":…}`.
    /// Throws `ReplayInputError` for a bad file (with line) and
    /// `DetectorConfigurationError` for detectors that cannot run.
    public static func run(csvPath: String, detectors: [DetectorConfiguration], write: (String) -> Void) throws -> ReplaySummary {
        let started = SystemClock.monotonicNow()
        // Points are numbered as the file introduces them; detectors bind as their point appears.
        let engine = try DetectionEngine(detectors: detectors, catalog: PointCatalog([]))
        // Reading and parsing run on their own thread; this one only detects.
        let reader = try ReplayBatchReader(path: csvPath)
        defer { reader.stop() }
        var names: [(device: String, point: String)] = []
        var resolved = 0
        var rows = 0
        var raised = 0
        var cleared = 0
        while let batch = reader.next() {
            names += batch.newNames
            rows += batch.ts.count
            for i in 0..<batch.ts.count {
                let pair = Int(batch.pairIndexes[i])
                if pair == resolved {
                    engine.resolve(pointID: PointID(pair), device: names[pair].device, point: names[pair].point)
                    resolved += 1
                }
                let stored = batch.values[i]
                let value: Double? = stored.isNaN ? nil : stored
                let transitions = engine.observe(pointID: PointID(pair), timestampMilliseconds: batch.ts[i],
                                                 value: value, quality: value == nil ? .commError : .good)
                for t in transitions {
                    if t.state == .raised { raised += 1 } else { cleared += 1 }
                    let name = names[Int(t.pointID)]
                    write(jsonLine(t, device: name.device, point: name.point))
                }
            }
            if let failure = batch.failure { throw failure }
        }
        let unresolved = engine.unresolved.map { "\($0.type) on \($0.device)/\($0.point ?? "?")" }
        let seconds = Double(SystemClock.monotonicNow() - started) / 1e9
        return ReplaySummary(rows: rows, points: resolved, raised: raised, cleared: cleared, seconds: seconds, unresolvedDetectors: unresolved)
    }

    /// One alarm transition as the JSON line `detect --replay` prints.
    public static func jsonLine(_ t: AlarmTransition, device: String, point: String) -> String {
        var s = "{\"ts\":\(t.timestampMilliseconds),\"device\":\(JSONText.quote(device)),\"point\":\(JSONText.quote(point))"
        s += ",\"type\":\(JSONText.quote(t.type)),\"state\":\"\(t.state.rawValue)\",\"value\":\(JSONText.number(t.value))"
        s += ",\"message\":\(JSONText.quote(t.message)),\"id\":\(JSONText.quote(t.alarmID)),\"severity\":\"\(t.severity.rawValue)\"}"
        return s
    }
}
