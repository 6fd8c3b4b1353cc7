/// Durations and sizes as people write them in the config: `"500ms"`, `"10s"`,
/// `"5m"`, `"2h"`, `"30d"`; `"512MB"`, `"1GB"`, `"64KiB"`.
public enum ConfigUnits {
    /// Parses `"500ms"`, `"1.5s"`, `"10s"`, `"5m"`, `"2h"`, `"30d"`, `"1w"`. `nil` if malformed or negative.
    public static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000_001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
        let trimmed = text.trimmingSpaces()
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingSpaces()
            // "5ms" must not parse as "5m" + "s": the loop tries "ms" first, and
            // a number part that is not a number rejects the other reading.
            guard let n = Double(number), n.isFinite, n >= 0 else { continue }
            return .nanoseconds(Int64((n * seconds * 1e9).rounded()))
        }
        return nil
    }

    /// Parses `"512MB"`, `"1GB"`, `"100kB"`, `"64KiB"`, `"1GiB"`, `"1000"` (bytes). SI prefixes are powers of 1000, `*iB` of 1024.
    public static func size(_ text: String) -> Int64? {
        let units: [(String, Double)] = [
            ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
            ("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
        ]
        let trimmed = text.trimmingSpaces()
        for (suffix, bytes) in units where trimmed.hasSuffix(suffix) {
            guard let n = Double(trimmed.dropLast(suffix.count).trimmingSpaces()), n.isFinite, n >= 0 else { continue }
            return Int64((n * bytes).rounded())
        }
        if let n = Int64(trimmed), n >= 0 { return n }
        return nil
    }

    /// `1500ms` → "1.5s", `300s` → "5m": the shortest exact spelling, for `config show` and messages.
    public static func text(_ d: Duration) -> String {
        let ms = d.milliseconds
        for (suffix, unit) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms >= unit && ms % unit == 0 {
            return "\(ms / unit)\(suffix)"
        }
        return "\(ms)ms"
    }
}

extension Duration {
    /// Whole milliseconds (truncated).
    public var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }

    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    public var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
