import GatewayModel

/// A configuration the engine cannot run, with every problem found.
public struct DetectorConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [(detector: String, problem: DetectorParameterProblem)] { items.map { ($0.detector, $0.problem) } }
    private var items: [Item]

    struct Item: Sendable, Equatable {
        var detector: String
        var line: Int
        var problem: DetectorParameterProblem
    }

    init(items: [Item]) { self.items = items }

    public var description: String {
        items.map { item in
            let at = item.line > 0 ? "line \(item.line): " : ""
            return "\(at)detector \(item.detector): \(item.problem.key): \(item.problem.message)"
        }.joined(separator: "\n")
    }

    public static func == (a: DetectorConfigurationError, b: DetectorConfigurationError) -> Bool { a.items == b.items }
}

/// Runs every configured detector over readings in time order and emits alarm
/// transitions: raised when a detector's condition starts, cleared when it ends,
/// at most one active alarm per detector and point.
///
/// Single owner, not thread-safe; pure (no I/O, no clock: time comes from the
/// samples). The daemon feeds it from one thread; `gatewayctl detect --replay`
/// runs the same code over a CSV.
public final class DetectionEngine {
    private final class Instance {
        let key: String
        let configuration: DetectorConfiguration
        let severity: AlarmSeverity
        let detector: PointDetector
        let watchesSilence: Bool
        /// Group detectors (`pressure_network`) watch every point whose device id
        /// starts with this prefix and whose point name matches.
        let groupPrefix: String?
        var pointID: PointID?
        var active: AlarmTransition?
        /// Names of the bound points of a group detector, so a saved alarm names its member, not the configured device.
        var memberNames: [PointID: MemberName] = [:]
        /// A restored alarm's member that is not resolved yet (a replay meets points as it reads).
        var pendingMember: MemberName?

        init(key: String, configuration: DetectorConfiguration, severity: AlarmSeverity, detector: PointDetector, watchesSilence: Bool, groupPrefix: String?) {
            self.groupPrefix = groupPrefix
            self.key = key
            self.configuration = configuration
            self.severity = severity
            self.detector = detector
            self.watchesSilence = watchesSilence
        }
    }

    private struct MemberName: Equatable {
        var device: String
        var point: String
    }

    private var instances: [Instance] = []
    /// Instances by point id (array index), so `observe` costs no hashing.
    private var byPoint: [[Instance]] = []
    private var silenceWatchers: [Instance] = []
    private var latestMilliseconds = Int64.min
    private var pendingState: [String: [UInt8]] = [:]

    /// Builds every detector. Throws `DetectorConfigurationError` listing every
    /// invalid entry (the same problems `DetectorRegistry.validate` reports).
    /// Detectors naming a point absent from `catalog` wait in `unresolved`
    /// until `resolve(pointID:device:point:)` names it.
    public init(detectors: [DetectorConfiguration], catalog: PointCatalog) throws {
        var errors: [DetectorConfigurationError.Item] = []
        var usedKeys: [String: Int] = [:]
        for configuration in detectors {
            let name = "\(configuration.type) on \(configuration.device)/\(configuration.point ?? "?")"
            let problems = DetectorRegistry.validate(configuration)
            if !problems.isEmpty {
                errors += problems.map { .init(detector: name, line: configuration.parameterLines[$0.key] ?? configuration.line, problem: $0) }
                continue
            }
            guard let kind = DetectorRegistry.kind(configuration.type) else { continue }
            let parameters = DetectorParameters(configured: configuration.parameters, specs: kind.parameters)
            let point = configuration.point ?? kind.defaultPoint ?? ""
            var key = "\(configuration.type):\(configuration.device):\(point)"
            // Two detectors of one type on one point (e.g. two ranges) need distinct ids.
            let seen = usedKeys[key, default: 0]
            usedKeys[key] = seen + 1
            if seen > 0 { key += "#\(seen + 1)" }
            let severity = AlarmSeverity(rawValue: parameters.word("severity")) ?? kind.severity
            let instance = Instance(key: key, configuration: configuration, severity: severity,
                                    detector: kind.make(parameters), watchesSilence: kind.watchesSilence,
                                    groupPrefix: kind.groupParameter.map { parameters.word($0) })
            instances.append(instance)
            if let prefix = instance.groupPrefix {
                for d in catalog.descriptors where d.point == point && d.device.hasPrefix(prefix) {
                    bind(instance, to: d.id, name: MemberName(device: d.device, point: d.point))
                }
            } else if let id = catalog.id(device: configuration.device, point: point) { bind(instance, to: id) }
        }
        if !errors.isEmpty { throw DetectorConfigurationError(items: errors) }
    }

    /// Detectors whose (device, point) is not known yet.
    public var unresolved: [DetectorConfiguration] {
        instances.filter { $0.pointID == nil }.map(\.configuration)
    }

    /// Names a point that appeared after the engine was built (a replay meets
    /// points as it reads). Detectors waiting for that (device, point) start
    /// watching it.
    public func resolve(pointID: PointID, device: String, point: String) {
        for instance in instances where instance.groupPrefix != nil && device.hasPrefix(instance.groupPrefix!)
            && (instance.configuration.point ?? "") == point {
            bind(instance, to: pointID, name: MemberName(device: device, point: point))
        }
        for instance in instances where instance.groupPrefix == nil && instance.pointID == nil && instance.configuration.device == device
            && (instance.configuration.point ?? DetectorRegistry.kind(instance.configuration.type)?.defaultPoint) == point {
            bind(instance, to: pointID)
        }
    }

    private func bind(_ instance: Instance, to id: PointID, name: MemberName? = nil) {
        let first = instance.pointID == nil
        if first { instance.pointID = id }
        if let name {
            instance.memberNames[id] = name
            if name == instance.pendingMember, instance.active != nil {
                instance.pendingMember = nil
                instance.active?.pointID = id
            }
        }
        let i = Int(id)
        if byPoint.count <= i { byPoint += Array(repeating: [], count: i + 1 - byPoint.count) }
        if byPoint[i].contains(where: { $0 === instance }) { return }
        byPoint[i].append(instance)
        guard first else { return }
        if instance.watchesSilence { silenceWatchers.append(instance) }
        if let state = pendingState.removeValue(forKey: instance.key) { restore(instance, from: state) }
    }

    /// Feeds one reading (readings must come in time order per point).
    /// Returns the alarms this reading raised or cleared, often none.
    public func observe(pointID: PointID, timestampMilliseconds: Int64, value: Double?, quality: Quality) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        let i = Int(pointID)
        if i >= 0 && i < byPoint.count {
            let sample = Sample(timestampMilliseconds: timestampMilliseconds, value: quality == .good ? value : nil, quality: quality, pointID: pointID)
            for instance in byPoint[i] {
                let verdict = instance.detector.observe(sample, alarmActive: instance.active != nil)
                apply(verdict, to: instance, at: timestampMilliseconds, into: &out)
            }
        }
        if !silenceWatchers.isEmpty && timestampMilliseconds > latestMilliseconds {
            out += advance(toMilliseconds: timestampMilliseconds)
        }
        if timestampMilliseconds > latestMilliseconds { latestMilliseconds = timestampMilliseconds }
        return out
    }

    /// Lets time pass without a reading (the daemon calls this on its tick), so
    /// `missing` detectors notice silent points. Returns the alarms raised.
    public func advance(toMilliseconds now: Int64) -> [AlarmTransition] {
        var out: [AlarmTransition] = []
        for instance in silenceWatchers {
            let verdict = instance.detector.advance(toMilliseconds: now, alarmActive: instance.active != nil)
            apply(verdict, to: instance, at: now, into: &out)
        }
        if now > latestMilliseconds { latestMilliseconds = now }
        return out
    }

    private func apply(_ verdict: DetectorVerdict, to instance: Instance, at ts: Int64, into out: inout [AlarmTransition]) {
        switch verdict {
        case .unchanged:
            return
        case .raise(let value, let message):
            guard instance.active == nil, let id = instance.pointID else { return }
            raise(instance, on: id, value: value, message: message, at: ts, into: &out)
        case .raiseOn(let id, let value, let message):
            guard instance.active == nil else { return }
            raise(instance, on: id, value: value, message: message, at: ts, into: &out)
        case .clear(let value, let message):
            guard let raised = instance.active else { return }
            instance.active = nil
            out.append(AlarmTransition(alarmID: instance.key, type: raised.type, severity: raised.severity, state: .cleared,
                                       pointID: raised.pointID, timestampMilliseconds: ts, value: value, message: message))
        }
    }

    private func raise(_ instance: Instance, on id: PointID, value: Double?, message: String, at ts: Int64, into out: inout [AlarmTransition]) {
        let t = AlarmTransition(alarmID: instance.key, type: instance.configuration.type, severity: instance.severity,
                                state: .raised, pointID: id, timestampMilliseconds: ts, value: value, message: message)
        instance.active = t
        out.append(t)
    }

    /// The alarms raised and not yet cleared (their `raised` transitions).
    public var activeAlarms: [AlarmTransition] { instances.compactMap(\.active) }

    /// Learning state and active alarms, as opaque bytes per detector instance
    /// key (`type:device:point`), for the daemon to persist and hand back to
    /// `restoreState` after a restart.
    public func saveState() -> [String: [UInt8]] {
        var out = pendingState
        for instance in instances {
            var w = StateWriter()
            w.put(UInt8(2))  // format version; 2 added the alarm's member point
            if let a = instance.active {
                w.put(true)
                w.put(a.timestampMilliseconds)
                w.put(a.value ?? .nan)
                w.put(a.message)
                // A group alarm names the member that dropped: saved by name, as point ids are the catalog's.
                let member = instance.memberNames[a.pointID] ?? instance.pendingMember
                w.put(member?.device ?? "")
                w.put(member?.point ?? "")
            } else {
                w.put(false)
            }
            instance.detector.encodeState(into: &w)
            out[instance.key] = w.bytes
        }
        return out
    }

    /// Restores what `saveState` returned. State of unknown or changed
    /// detectors is ignored (they learn afresh); state of detectors whose point
    /// is not resolved yet is applied when it is.
    public func restoreState(_ state: [String: [UInt8]]) {
        for (key, bytes) in state {
            if let instance = instances.first(where: { $0.key == key }), instance.pointID != nil {
                restore(instance, from: bytes)
            } else if instances.contains(where: { $0.key == key }) {
                pendingState[key] = bytes
            }
        }
    }

    private func restore(_ instance: Instance, from bytes: [UInt8]) {
        var r = StateReader(bytes)
        do {
            // Version 1 did not name the member: its alarm is restored on the configured point.
            let version = try r.byte()
            guard version == 1 || version == 2 else { return }
            instance.pendingMember = nil
            if try r.bool() {
                let ts = try r.int64()
                let value = try r.double()
                let message = try r.string()
                var pointID = instance.pointID ?? -1
                if version == 2 {
                    let member = MemberName(device: try r.string(), point: try r.string())
                    if !member.device.isEmpty {
                        if let id = instance.memberNames.first(where: { $0.value == member })?.key { pointID = id } else { instance.pendingMember = member }
                    }
                }
                instance.active = AlarmTransition(alarmID: instance.key, type: instance.configuration.type, severity: instance.severity,
                                                  state: .raised, pointID: pointID, timestampMilliseconds: ts,
                                                  value: value.isNaN ? nil : value, message: message)
            } else {
                instance.active = nil
            }
            try instance.detector.decodeState(from: &r)
        } catch {
            // Truncated or from another version: keep what decoded, the rest relearns.
        }
    }
}
