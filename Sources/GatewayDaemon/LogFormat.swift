import GatewayModel
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One line per event on stderr: `2026-11-22T10:00:00.123Z warning store: message key=value`.
/// Under systemd (JOURNAL_STREAM set) the line starts with a syslog priority
/// `<N>` and carries no timestamp, since journald adds its own.
struct GatewayLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    static let underJournald = ProcessEnvironment.value("JOURNAL_STREAM") != nil

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        var text = ""
        if GatewayLogHandler.underJournald {
            text = "<\(GatewayLogHandler.syslogPriority(level))>"
        } else {
            text = GatewayLogHandler.timestamp() + " "
        }
        text += "\(level) \(label): \(message)"
        for key in all.keys.sorted() {
            let v = "\(all[key]!)"
            text += " \(key)=" + (v.contains(" " as Character) || v.isEmpty ? "\"\(v)\"" : v)
        }
        text += "\n"
        StandardError.write(text)
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var tmv = tm()
        var secs = ts.tv_sec
        gmtime_r(&secs, &tmv)
        return "\(digits(tmv.tm_year + 1900, 4))-\(digits(tmv.tm_mon + 1, 2))-\(digits(tmv.tm_mday, 2))T"
            + "\(digits(tmv.tm_hour, 2)):\(digits(tmv.tm_min, 2)):\(digits(tmv.tm_sec, 2)).\(digits(ts.tv_nsec / 1_000_000, 3))Z"
    }

    /// `n` in decimal, zero-padded to `width` (what `%0Nd` did, for the non-negative fields of a timestamp).
    static func digits<T: BinaryInteger>(_ n: T, _ width: Int) -> String {
        let text = String(n)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
