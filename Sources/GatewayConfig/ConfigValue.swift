/// The parsed document as plain Swift values, built once from toml++'s walk
/// (`TOMLDocument`) so the rest of the reader is ordinary value-type code.
indirect enum ConfigValue: Equatable {
    case string(String)
    case integer(Int)
    case double(Double)
    case bool(Bool)
    case table([String: ConfigValue])
    case array([ConfigValue])
    /// A TOML date, time or date-time; no key of ours takes one, so only its spelling is kept for messages.
    case dateTime(String)

    /// How a message names this value: `text "502"`, `the number 12`, `a table`.
    var quoted: String {
        switch self {
        case .string(let s): return "text \(ConfigValue.quote(s))"
        case .integer(let i): return "the number \(i)"
        case .double(let d): return "the number \(d)"
        case .bool(let b): return "\(b)"
        case .table: return "a table"
        case .array: return "a list"
        case .dateTime(let d): return "the date \(d)"
        }
    }

    /// `"text"` with quotes and escapes as TOML would write it.
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16, uppercase: true)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
