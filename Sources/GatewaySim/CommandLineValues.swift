import Foundation

/// Parsing of the values people type on the command line and the console.
enum CommandLineValues {
    /// `"500ms"`, `"1.5s"`, `"90s"`, `"5m"`, `"2h"`, `"1d"` (same spelling as the gateway config) → seconds.
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            // "5ms" is tried as "ms" first; "5m" + "s" is rejected because "5m" is not a number.
            guard let n = Double(trimmed.dropLast(suffix.count)), n.isFinite, n >= 0 else { continue }
            return n * scale
        }
        return nil
    }

    /// `HOST:PORT` with an IPv4 address, `localhost`, `*` or `0.0.0.0`. Port 0 picks a free port.
    static func endpoint(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":") else { throw SimulatorError.badEndpoint(text) }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw SimulatorError.badEndpoint(text)
        }
        if host == "localhost" { host = "127.0.0.1" }
        if host == "*" || host.isEmpty { host = "0.0.0.0" }
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { throw SimulatorError.badEndpoint(text) }
        return (host, port)
    }

    /// `1=electricity,2=water,3=pressure,9=pattern` → unit id and kind, in the order given.
    static func units(_ text: String) throws -> [(unitID: UInt8, kind: UnitKind)] {
        var result: [(UInt8, UnitKind)] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else {
                throw SimulatorError.badUnitSpec(text, reason: "'\(item)' is not UNIT=KIND")
            }
            guard let id = Int(parts[0]), (1...247).contains(id) else {
                throw SimulatorError.badUnitSpec(text, reason: "unit id '\(parts[0])' must be 1-247")
            }
            guard let kind = UnitKind(rawValue: parts[1]) else {
                let kinds = UnitKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw SimulatorError.badUnitSpec(text, reason: "kind '\(parts[1])' is not one of \(kinds)")
            }
            guard !result.contains(where: { $0.0 == UInt8(id) }) else {
                throw SimulatorError.badUnitSpec(text, reason: "unit \(id) is listed twice")
            }
            result.append((UInt8(id), kind))
        }
        guard !result.isEmpty else { throw SimulatorError.badUnitSpec(text, reason: "no units") }
        return result
    }

    /// ISO 8601 (`2025-06-01T00:00:00Z`, fractional seconds and offsets allowed) or epoch milliseconds.
    static func epochMilliseconds(_ text: String) throws -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let ms = Int64(trimmed) { return ms }
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = plain.date(from: trimmed) ?? fractional.date(from: trimmed) else {
            throw SimulatorError.badStartTime(text)
        }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// A parking bay id as interface.md allows it: 1-32 of `A-Z a-z 0-9 _ -`.
    static func isBayID(_ text: Substring) -> Bool {
        (1...32).contains(text.count) && text.allSatisfy { c in
            c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-")
        }
    }

    /// `A-001,A-002` or a range `A-001..A-008` (the numeric tail counts up, keeping its width).
    static func bays(_ text: String) throws -> [String] {
        var result: [String] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let item = item.trimmingCharacters(in: .whitespaces)
            if let range = item.range(of: "..") {
                let first = item[..<range.lowerBound], last = item[range.upperBound...]
                guard let (prefix, from, width) = splitNumericTail(first),
                      let (prefix2, to, _) = splitNumericTail(last), prefix == prefix2, from <= to, to - from < 1000
                else { throw SimulatorError.badBayList(text) }
                for n in from...to {
                    let digits = String(n)
                    result.append(prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits)
                }
            } else {
                result.append(String(item))
            }
        }
        guard !result.isEmpty, result.allSatisfy({ isBayID(Substring($0)) }), Set(result).count == result.count else {
            throw SimulatorError.badBayList(text)
        }
        return result
    }

    private static func splitNumericTail(_ text: Substring) -> (String, Int, Int)? {
        let digits = text.reversed().prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, let n = Int(String(digits.reversed())) else { return nil }
        return (String(text.dropLast(digits.count)), n, digits.count)
    }
}
