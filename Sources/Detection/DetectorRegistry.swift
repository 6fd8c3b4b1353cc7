import GatewayModel

/// One detector type: its parameters with their defaults, and how to build it.
struct DetectorKind {
    var type: String
    var summary: String
    var severity: AlarmSeverity
    var defaultPoint: String? = nil
    var watchesSilence = false
    /// The parameter holding a device id prefix, for detectors that watch a group of points.
    var groupParameter: String? = nil
    var parameters: [ParameterSpec]
    /// Checks that need more than one parameter (e.g. `range` needs `min` or `max`).
    var crossCheck: ([String: ConfigScalar]) -> [DetectorParameterProblem] = { _ in [] }
    var make: (DetectorParameters) -> PointDetector
}

/// The detector types `[[detector]]` may name, their parameters and defaults.
public enum DetectorRegistry {
    /// Every detector type, in documentation order.
    public static var types: [String] { kinds.map(\.type) }

    /// A one-line description of a type, for `config check` messages and help.
    public static func summary(of type: String) -> String? { kind(type)?.summary }

    /// Parameter names of a type with their defaults as written in a config (`nil`: no default).
    public static func parameters(of type: String) -> [(name: String, defaultValue: String?, help: String)] {
        kind(type)?.parameters.map { ($0.name, $0.defaultText, $0.help) } ?? []
    }

    /// Checks type, required point, parameter names (unknown → problem), types and ranges. Used by `config check`.
    public static func validate(_ configuration: DetectorConfiguration) -> [DetectorParameterProblem] {
        guard let kind = kind(configuration.type) else {
            return [.init(key: "type", message: "unknown detector type \"\(configuration.type)\"; known types: \(types.joined(separator: ", "))")]
        }
        var problems: [DetectorParameterProblem] = []
        if configuration.device.isEmpty {
            problems.append(.init(key: "device", message: "missing: name the device whose point this detector watches"))
        }
        if (configuration.point ?? "").isEmpty && kind.defaultPoint == nil {
            problems.append(.init(key: "point", message: "missing: name the point this \(kind.type) detector watches (e.g. point = \"flow_m3h\")"))
        }
        for name in configuration.parameters.keys.sorted() {
            guard let spec = kind.parameters.first(where: { $0.name == name }) else {
                let known = kind.parameters.map(\.name).joined(separator: ", ")
                problems.append(.init(key: name, message: "unknown parameter for \(kind.type); known: \(known)"))
                continue
            }
            if let message = spec.problem(with: configuration.parameters[name]!) {
                problems.append(.init(key: name, message: message))
            }
        }
        for spec in kind.parameters where spec.required && configuration.parameters[spec.name] == nil {
            problems.append(.init(key: spec.name, message: "missing: \(kind.type) needs \(spec.name) (\(spec.help))"))
        }
        if problems.isEmpty { problems += kind.crossCheck(configuration.parameters) }
        // A group detector's device is one member of the group (so the daemon's
        // config check finds it declared); a device outside it is a typo.
        if problems.isEmpty, let name = kind.groupParameter, case .string(let prefix)? = configuration.parameters[name],
           !configuration.device.hasPrefix(prefix) {
            problems.append(.init(key: name, message: "device \"\(configuration.device)\" does not start with \"\(prefix)\": name one of the group's sensors as the device"))
        }
        return problems
    }

    static func kind(_ type: String) -> DetectorKind? { kinds.first { $0.type == type } }

    private static let severity = ParameterSpec.word("severity", "", AlarmSeverity.allCases.map(\.rawValue),
                                                     "alarm severity: info, warning or critical (default depends on the type)")
    private static let utcOffset = ParameterSpec(name: "utc_offset", kind: .offset, defaultText: "0h",
                                                 help: "local standard time minus UTC, for time of day and weekday")

    static let kinds: [DetectorKind] = [
        DetectorKind(type: "range", summary: "value outside [min, max]", severity: .warning, parameters: [
            .number("min", nil, -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude, "lower limit (unset: none)"),
            .number("max", nil, -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude, "upper limit (unset: none)"),
            .number("deadband", 0, 0...Double.greatestFiniteMagnitude, "how far back inside the limits the value must come to clear"),
            .duration("delay", "0s", "how long the value must stay outside before the alarm is raised"),
            severity,
        ], crossCheck: { p in
            let lo = p["min"]?.doubleValue, hi = p["max"]?.doubleValue
            if lo == nil && hi == nil { return [.init(key: "min", message: "range needs min, max or both")] }
            if let lo, let hi, lo >= hi { return [.init(key: "max", message: "max (\(hi)) must be above min (\(lo))")] }
            return []
        }, make: RangeDetector.init),

        DetectorKind(type: "rate_of_change", summary: "value changes faster than max_rate per `per`", severity: .warning, parameters: [
            .number("max_rate", nil, 0...Double.greatestFiniteMagnitude, required: true, "largest plausible change per `per`, in the point's unit"),
            .duration("per", "1m", minimum: .milliseconds(1), "time unit of max_rate"),
            .duration("clear_after", "10m", "calm time before the alarm clears"),
            .duration("max_gap", "1h", minimum: .milliseconds(1), "readings further apart than this are not compared"),
            severity,
        ], make: RateOfChangeDetector.init),

        DetectorKind(type: "spike", summary: "single reading far from the rolling median (robust z-score on MAD)", severity: .info, parameters: [
            .integer("window", 25, 5...1000, "readings in the rolling median"),
            .number("threshold", 6, 1...1000, "robust deviations (MAD × 1.4826) from the median that make a spike"),
            .number("min_deviation", 0, 0...Double.greatestFiniteMagnitude, "floor on the deviation scale, in the point's unit (quantised signals)"),
            severity,
        ], make: SpikeDetector.init),

        DetectorKind(type: "flatline", summary: "value stuck (stuck sensor)", severity: .warning, parameters: [
            .duration("duration", "6h", minimum: .seconds(1), "how long an unchanged value is tolerated"),
            .number("tolerance", 0, 0...Double.greatestFiniteMagnitude, "changes up to this count as unchanged"),
            severity,
        ], make: FlatlineDetector.init),

        DetectorKind(type: "missing", summary: "no good reading for `timeout`", severity: .warning, watchesSilence: true, parameters: [
            .duration("timeout", "1h", minimum: .seconds(1), "silence (or bad quality) tolerated"),
            severity,
        ], make: MissingDetector.init),

        DetectorKind(type: "night_flow", summary: "minimum night flow above its learned weekday baseline", severity: .warning, parameters: [
            .duration("window_start", "2h", "start of the night window (time of day)"),
            .duration("window_end", "4h", "end of the night window (time of day)"),
            utcOffset,
            .number("threshold_percent", 8, 0.1...1000, "excess over the baseline that raises an alarm, in %"),
            .number("min_excess", 0, 0...Double.greatestFiniteMagnitude, "and at least this much flow above the baseline (flow units)"),
            .integer("baseline_nights", 7, 3...60, "unflagged nights in the rolling median level"),
            .integer("learning_nights", 14, 7...120, "nights learned before the first alarm"),
            .integer("relearn_nights", 7, 2...365, "flagged nights in a row after which the new level becomes the baseline"),
            .number("trend_percent", 20, 0...1000, "rise of the weekly median night over `trend_weeks` that raises an alarm, in % (0: no trend test)"),
            .integer("trend_weeks", 6, 2...26, "weeks between the two weekly medians the trend test compares"),
            .integer("trend_nights", 3, 1...30, "nights in a row the rise must hold"),
            severity,
        ], crossCheck: { p in
            let s = p["window_start"].flatMap(stringDuration) ?? .seconds(7200)
            let e = p["window_end"].flatMap(stringDuration) ?? .seconds(14400)
            if s == e { return [.init(key: "window_end", message: "the night window is empty (window_start equals window_end)")] }
            if s >= .seconds(86_400) || e > .seconds(86_400) { return [.init(key: s >= .seconds(86_400) ? "window_start" : "window_end", message: "must be a time of day below 24h")] }
            return []
        }, make: NightFlowDetector.init),

        DetectorKind(type: "pressure_drop", summary: "pressure stepping down against its learned time-of-day/weekday profile", severity: .critical, parameters: [
            .duration("slot", "15m", minimum: .seconds(60), "profile resolution (time of day)"),
            .integer("profile_weeks", 3, 2...12, "weeks in the profile's rolling median"),
            utcOffset,
            .duration("window", "1h", minimum: .seconds(1), "the recent period whose mean residual is compared"),
            .duration("reference", "2h", minimum: .seconds(1), "the period just before it, the level the drop is measured from"),
            .number("threshold", 10, 0.1...10_000, "drop that raises, in the sensor's own step scale"),
            .number("min_drop", 0, 0...Double.greatestFiniteMagnitude, "and the drop must be at least this (pressure units)"),
            severity,
        ], make: PressureDropDetector.init),

        DetectorKind(type: "pressure_network", summary: "one pressure sensor of a district stepping down against the others (burst nearby)", severity: .critical,
                     groupParameter: "group", parameters: [
            .text("group", required: true, "device id prefix of the district's pressure sensors (e.g. \"pressure-\"); every such device with this point is watched"),
            .duration("interval", "5m", minimum: .seconds(1), "time step: each sensor's mean per interval is compared with the district's"),
            .duration("learn", "7d", minimum: .seconds(60), "half-life of the fit of each sensor against the district mean"),
            .duration("window", "1h", minimum: .seconds(1), "the recent period whose mean residual is compared"),
            .duration("reference", "2h", minimum: .seconds(1), "the period just before it, the level the drop is measured from"),
            .duration("warmup", "2d", "time the step scale is learned before the first alarm (the fit needs a day before that)"),
            .number("threshold", 7, 0.1...10_000, "drop that raises, in the sensor's own step scale"),
            .number("min_drop", 0, 0...Double.greatestFiniteMagnitude, "and the drop must be at least this (pressure units)"),
            .integer("min_samples", 4, 1...1000, "samples a window should hold: with fewer (sparse sensors) the threshold rises by the square root of the shortfall"),
            severity,
        ], make: PressureNetworkDetector.init),

        DetectorKind(type: "continuous_flow", summary: "customer meter never at zero flow for `duration`", severity: .warning, parameters: [
            .number("zero_flow", 0, 0...Double.greatestFiniteMagnitude, "flow at or below this counts as no flow"),
            .duration("duration", "24h", minimum: .seconds(60), "how long flow may run without a stop"),
            severity,
        ], make: ContinuousFlowDetector.init),

        DetectorKind(type: "reverse_flow", summary: "flow below -threshold for `delay`", severity: .warning, parameters: [
            .number("threshold", 0, 0...Double.greatestFiniteMagnitude, "reverse flow up to this is tolerated (meter noise)"),
            .duration("delay", "5m", "how long the flow must run backwards"),
            severity,
        ], make: ReverseFlowDetector.init),

        DetectorKind(type: "counter", summary: "cumulative register going backwards or jumping impossibly", severity: .warning, parameters: [
            .number("tolerance", 0, 0...Double.greatestFiniteMagnitude, "backward steps up to this are ignored"),
            .number("max_increase_per_hour", nil, 0...Double.greatestFiniteMagnitude, "largest possible increase per hour (unset: no jump check)"),
            .number("rollover", nil, 1...Double.greatestFiniteMagnitude, "value at which the register wraps to zero (unset: never)"),
            severity,
        ], make: CounterDetector.init),

        DetectorKind(type: "voltage", summary: "voltage outside nominal ± tolerance", severity: .warning, parameters: [
            .number("nominal", 230, 1...1_000_000, "nominal voltage (V)"),
            .number("tolerance_percent", 10, 0.1...100, "allowed deviation from nominal, in %"),
            .number("hysteresis_percent", 1, 0...50, "how far back inside the band (in %) the voltage must come to clear"),
            .duration("delay", "1m", "how long the voltage must stay outside before the alarm"),
            severity,
        ], make: VoltageDetector.init),

        DetectorKind(type: "bay_occupied_too_long", summary: "parking bay occupied longer than max_duration", severity: .info, parameters: [
            .duration("max_duration", "4h", minimum: .seconds(1), "longest allowed stay"),
            severity,
        ], make: BayOccupiedTooLongDetector.init),

        DetectorKind(type: "bay_flapping", summary: "parking bay changing state too often", severity: .warning, parameters: [
            .integer("max_changes", 10, 1...10_000, "state changes tolerated within `window`"),
            .duration("window", "10m", minimum: .seconds(1), "sliding window"),
            severity,
        ], make: BayFlappingDetector.init),

        DetectorKind(type: "detector_fault", summary: "parking detector reports a fault (state 2)", severity: .warning, parameters: [
            .duration("delay", "0s", "how long the fault must last before the alarm"),
            severity,
        ], make: DetectorFaultDetector.init),
    ]
}

private func stringDuration(_ v: ConfigScalar) -> Duration? {
    if case .string(let s) = v { return ConfigUnits.duration(s) }
    return nil
}
