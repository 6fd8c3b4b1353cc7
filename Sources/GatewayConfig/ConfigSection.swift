import GatewayModel

/// One table of the file being read, with typed accessors that report wrong
/// types, bad values and missing keys to the shared `ProblemLog` and return
/// nil, so reading carries on and every problem is found in one pass.
struct ConfigSection {
    /// Key path of this table, e.g. `bus[1]` or `device[0].point[2]`; empty for the root.
    let path: String
    let values: [String: ConfigValue]
    let log: ProblemLog

    func has(_ key: String) -> Bool { values[key] != nil }
    func keyPath(_ key: String) -> String { ConfigKeyPath.child(path, key) }
    /// The line of this table's header (or of the nearest thing written).
    var line: Int { log.index.line(of: path) }
    func line(of key: String) -> Int { log.index.line(of: keyPath(key)) }

    func report(_ key: String, _ message: String) { log.report(keyPath(key), message) }

    /// Reports a required key that is absent, at the line of this table.
    func reportMissing(_ key: String, _ why: String) {
        log.report(keyPath(key), "required key is missing (\(why))", line: line)
    }

    // MARK: Unknown keys

    /// Reports every key that is neither in `allowed` nor explained by `misplaced`
    /// (keys valid elsewhere, with the reason they do not apply here).
    func checkKeys(allowed: [String], misplaced: [String: String] = [:]) {
        for key in values.keys.sorted() where !allowed.contains(key) {
            if let why = misplaced[key] {
                report(key, why)
                continue
            }
            var message = "unknown key \(ConfigValue.quote(key))"
            if let guess = Spelling.closest(to: key, among: allowed) {
                message += " (did you mean \"\(guess)\"?)"
            } else if !allowed.isEmpty {
                message += " (valid keys here: \(allowed.joined(separator: ", ")))"
            }
            report(key, message)
        }
    }

    // MARK: Scalars

    func string(_ key: String) -> String? {
        guard let value = values[key] else { return nil }
        guard case .string(let s) = value else {
            report(key, "expected text in quotes, found \(value.quoted)")
            return nil
        }
        return s
    }

    /// A string that must be present and not empty.
    func requiredString(_ key: String, _ why: String) -> String? {
        guard has(key) else { reportMissing(key, why); return nil }
        guard let s = string(key) else { return nil }
        if s.trimmingSpacesAndTabs().isEmpty { report(key, "must not be empty (\(why))"); return nil }
        return s
    }

    func integer(_ key: String, range: ClosedRange<Int>? = nil, unit: String = "") -> Int? {
        guard let value = values[key] else { return nil }
        let n: Int
        switch value {
        case .integer(let i): n = i
        case .double(let d) where d.rounded() == d && abs(d) < 1e15:
            report(key, "expected a whole number, found \(value.quoted) (write \(Int(d)) without the decimal point)")
            return nil
        default:
            report(key, "expected a whole number, found \(value.quoted)")
            return nil
        }
        if let range, !range.contains(n) {
            report(key, "\(n)\(unit) is out of range (\(ConfigSection.describe(range))\(unit))")
            return nil
        }
        return n
    }

    /// An integer or a float, as Double.
    func number(_ key: String) -> Double? {
        guard let value = values[key] else { return nil }
        switch value {
        case .integer(let i): return Double(i)
        case .double(let d):
            guard d.isFinite else { report(key, "must be a finite number, found \(value.quoted)"); return nil }
            return d
        default:
            report(key, "expected a number, found \(value.quoted)")
            return nil
        }
    }

    func bool(_ key: String) -> Bool? {
        guard let value = values[key] else { return nil }
        guard case .bool(let b) = value else {
            report(key, "expected true or false (without quotes), found \(value.quoted)")
            return nil
        }
        return b
    }

    /// A duration string such as `"500ms"` or `"10s"`. Zero is refused unless `allowZero`.
    func duration(_ key: String, allowZero: Bool = false) -> Duration? {
        guard let value = values[key] else { return nil }
        switch value {
        case .string(let s):
            guard let d = ConfigUnits.duration(s) else {
                report(key, "\(ConfigValue.quote(s)) is not a duration; write a number and a unit, like \"500ms\", \"10s\", \"5m\", \"2h\" or \"30d\"")
                return nil
            }
            if !allowZero && d <= .zero {
                report(key, "must be longer than zero, found \(ConfigValue.quote(s))")
                return nil
            }
            return d
        case .integer(let i):
            report(key, "the bare number \(i) has no unit; write it as a string with a unit, like \"\(i)s\" or \"\(i)ms\"")
            return nil
        case .double(let d):
            report(key, "the bare number \(d) has no unit; write it as a string with a unit, like \"\(d)s\"")
            return nil
        default:
            report(key, "expected a duration like \"10s\", found \(value.quoted)")
            return nil
        }
    }

    /// A size string such as `"512MB"` or `"1GB"`; must be more than zero.
    func size(_ key: String) -> Int64? {
        guard let value = values[key] else { return nil }
        switch value {
        case .string(let s):
            guard let n = ConfigUnits.size(s) else {
                report(key, "\(ConfigValue.quote(s)) is not a size; write a number and a unit, like \"512MB\", \"1GB\" or \"64MiB\"")
                return nil
            }
            if n <= 0 { report(key, "must be larger than zero, found \(ConfigValue.quote(s))"); return nil }
            return n
        case .integer(let i):
            report(key, "the bare number \(i) has no unit; write it as a string with a unit, like \"\(i)MB\"")
            return nil
        default:
            report(key, "expected a size like \"512MB\", found \(value.quoted)")
            return nil
        }
    }

    /// An enumerated word, aliases resolved by `ConfigVocabulary`, returned in canonical spelling.
    func word(_ key: String, in vocabulary: ConfigVocabulary) -> String? {
        guard let raw = string(key) else { return nil }
        guard let canonical = vocabulary.canonical(raw) else {
            report(key, vocabulary.rejection(raw))
            return nil
        }
        return canonical
    }

    // MARK: Tables

    /// A sub-table `[key]`; nil when absent or not a single table.
    func table(_ key: String) -> ConfigSection? {
        guard let value = values[key] else { return nil }
        switch value {
        case .table(let t):
            return ConfigSection(path: keyPath(key), values: t, log: log)
        case .array:
            report(key, "expected one [\(key)] table, found a list of [[\(key)]] tables; use single brackets")
            return nil
        default:
            report(key, "expected a [\(key)] table, found \(value.quoted)")
            return nil
        }
    }

    /// The entries of an array of tables `[[key]]` (an inline list of inline tables works too).
    func tables(_ key: String) -> [ConfigSection] {
        guard let value = values[key] else { return [] }
        switch value {
        case .array(let items):
            var out: [ConfigSection] = []
            for (n, item) in items.enumerated() {
                let itemPath = ConfigKeyPath.element(keyPath(key), n)
                if case .table(let t) = item {
                    out.append(ConfigSection(path: itemPath, values: t, log: log))
                } else {
                    log.report(itemPath, "expected a table, found \(item.quoted)")
                }
            }
            return out
        case .table:
            report(key, "write [[\(key)]] with double brackets: each [[\(key)]] adds one entry to a list")
            return []
        default:
            report(key, "expected [[\(key)]] tables, found \(value.quoted)")
            return []
        }
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
        return "\(range.lowerBound)–\(range.upperBound)"
    }
}


extension StringProtocol {
    func trimmingSpacesAndTabs() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
