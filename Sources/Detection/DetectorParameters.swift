import GatewayModel

/// A problem with one `[[detector]]` entry, reported by `config check` as
/// `FILE:LINE: key: message`.
public struct DetectorParameterProblem: Sendable, Equatable, CustomStringConvertible {
    /// The offending key (`type`, `point` or a parameter name).
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

/// What a parameter holds and which values are allowed.
enum ParameterKind {
    /// A duration string such as `"10m"`, at least `minimum`.
    case duration(minimum: Duration)
    /// A duration that may carry a sign, such as a time zone offset `"-5h"` (at most a day either way).
    case offset
    /// A number (integer or float) in `range`.
    case number(ClosedRange<Double>)
    /// A whole number in `range`.
    case integer(ClosedRange<Int>)
    /// One of a fixed set of words.
    case word([String])
    /// Free text that must not be empty (a device id prefix).
    case text
}

/// One documented parameter of a detector type.
struct ParameterSpec {
    var name: String
    var kind: ParameterKind
    /// The default as written in the config; `nil` means "not set" (the detector treats it as off or required).
    var defaultText: String?
    var required: Bool = false
    var help: String

    static func duration(_ name: String, _ defaultText: String?, minimum: Duration = .zero, required: Bool = false, _ help: String) -> ParameterSpec {
        ParameterSpec(name: name, kind: .duration(minimum: minimum), defaultText: defaultText, required: required, help: help)
    }

    static func number(_ name: String, _ defaultValue: Double?, _ range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude,
                       required: Bool = false, _ help: String) -> ParameterSpec {
        ParameterSpec(name: name, kind: .number(range), defaultText: defaultValue.map { "\($0)" }, required: required, help: help)
    }

    static func integer(_ name: String, _ defaultValue: Int, _ range: ClosedRange<Int>, _ help: String) -> ParameterSpec {
        ParameterSpec(name: name, kind: .integer(range), defaultText: "\(defaultValue)", help: help)
    }

    static func text(_ name: String, required: Bool, _ help: String) -> ParameterSpec {
        ParameterSpec(name: name, kind: .text, defaultText: nil, required: required, help: help)
    }

    static func word(_ name: String, _ defaultValue: String, _ allowed: [String], _ help: String) -> ParameterSpec {
        ParameterSpec(name: name, kind: .word(allowed), defaultText: defaultValue, help: help)
    }

    /// Checks one configured value; `nil` if it is acceptable.
    func problem(with value: ConfigScalar) -> String? {
        switch kind {
        case .duration(let minimum):
            guard case .string(let text) = value else { return "expected a duration string such as \"10m\", got \(value.configText)" }
            guard let d = ConfigUnits.duration(text) else { return "\"\(text)\" is not a duration (examples: \"30s\", \"10m\", \"2h\", \"7d\")" }
            if d < minimum { return "\"\(text)\" is too short; at least \(ConfigUnits.text(minimum))" }
            return nil
        case .offset:
            guard case .string(let text) = value else { return "expected an offset string such as \"+1h\" or \"-5h\", got \(value.configText)" }
            guard let d = ConfigUnits.duration(text.unsigned) else { return "\"\(text)\" is not an offset (examples: \"0h\", \"+1h\", \"-330m\")" }
            if d > .seconds(86_400) { return "\"\(text)\" is more than a day" }
            return nil
        case .number(let range):
            guard let d = value.doubleValue else { return "expected a number, got \(value.configText)" }
            guard d.isFinite, range.contains(d) else { return "\(value.configText) is out of range \(range.lowerBound.rangeText)...\(range.upperBound.rangeText)" }
            return nil
        case .integer(let range):
            guard case .integer(let i) = value else { return "expected a whole number, got \(value.configText)" }
            guard range.contains(i) else { return "\(i) is out of range \(range.lowerBound)...\(range.upperBound)" }
            return nil
        case .word(let allowed):
            guard case .string(let text) = value else { return "expected one of \(allowed.joined(separator: ", ")), got \(value.configText)" }
            guard allowed.contains(text) else { return "\"\(text)\" is not one of \(allowed.joined(separator: ", "))" }
            return nil
        case .text:
            guard case .string(let text) = value, !text.isEmpty else { return "expected a non-empty string such as \"pressure-\", got \(value.configText)" }
            return nil
        }
    }
}

extension ConfigScalar {
    var configText: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .bool(let b): return "\(b)"
        }
    }
}

private extension Double {
    var rangeText: String {
        if self >= Double.greatestFiniteMagnitude { return "inf" }
        if self <= -Double.greatestFiniteMagnitude { return "-inf" }
        if self == rounded() && abs(self) < 1e15 { return "\(Int64(self))" }
        return "\(self)"
    }
}

/// Validated parameter values of one detector: configured value or documented default.
/// Only built after `DetectorRegistry.validate` found no problem, so lookups do not fail.
struct DetectorParameters {
    private let configured: [String: ConfigScalar]
    private let specs: [String: ParameterSpec]

    init(configured: [String: ConfigScalar], specs: [ParameterSpec]) {
        self.configured = configured
        var table: [String: ParameterSpec] = [:]
        for s in specs { table[s.name] = s }
        self.specs = table
    }

    private func text(_ name: String) -> String? {
        if let v = configured[name], case .string(let s) = v { return s }
        return specs[name]?.defaultText
    }

    func isSet(_ name: String) -> Bool { configured[name] != nil || specs[name]?.defaultText != nil }

    /// Milliseconds of a duration parameter.
    func milliseconds(_ name: String) -> Int64 {
        guard let t = text(name), let d = ConfigUnits.duration(t) else { return 0 }
        return d.milliseconds
    }

    /// Milliseconds of a signed offset parameter (`"-5h"`).
    func offsetMilliseconds(_ name: String) -> Int64 {
        guard let t = text(name), let d = ConfigUnits.duration(t.unsigned) else { return 0 }
        return t.hasPrefix("-") ? -d.milliseconds : d.milliseconds
    }

    func number(_ name: String) -> Double? {
        if let v = configured[name] { return v.doubleValue }
        return specs[name]?.defaultText.flatMap(Double.init)
    }

    func integer(_ name: String) -> Int {
        if let v = configured[name], case .integer(let i) = v { return i }
        return specs[name]?.defaultText.flatMap { Int($0) } ?? 0
    }

    func word(_ name: String) -> String { text(name) ?? "" }
}

extension String {
    /// The text without one leading sign.
    var unsigned: String { hasPrefix("-") || hasPrefix("+") ? String(dropFirst()) : self }
}
