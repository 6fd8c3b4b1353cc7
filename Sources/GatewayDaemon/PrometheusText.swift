import GatewayModel

/// The Prometheus text exposition format (version 0.0.4), as node_exporter's
/// textfile collector reads it: `# HELP`, `# TYPE`, then one sample a line.
struct PrometheusText {
    enum Kind: String { case counter, gauge }

    private(set) var text = ""
    private var declared: Set<String> = []

    /// Adds one sample; the HELP/TYPE header is written the first time a name appears.
    /// Samples of one name must be added together (the format wants them grouped).
    mutating func sample(_ name: String, _ kind: Kind, _ help: String, labels: [(String, String)] = [], _ value: Double) {
        if !declared.contains(name) {
            declared.insert(name)
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
        }
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(PrometheusText.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + PrometheusText.format(value) + "\n"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}

/// Writes `gatewayd.prom` into a directory node_exporter's textfile collector
/// reads, atomically: a temporary file in the same directory, then rename, so
/// a scrape never sees half a file.
struct MetricsTextfile {
    let directory: String
    var path: String { directory + "/gatewayd.prom" }

    func write(_ text: String) throws {
        do {
            // No fsync: a metrics file lost in a power cut is rewritten at the next interval,
            // and a flash card need not pay a sync every few seconds for it.
            try PlainFile.replace(path, with: Array(text.utf8), sync: false)
        } catch let e as PlainFileError {
            let failed: String
            switch e {
            case .cannotRename: failed = path
            case .cannotOpen(let p, _), .cannotWrite(let p, _), .cannotRead(let p, _), .cannotCreateDirectory(let p, _), .tooLarge(let p, _): failed = p
            }
            throw MetricsTextfileError.cannotWrite(path: failed, reason: e.errno.map(SystemCall.errorText) ?? "\(e)")
        }
    }
}

enum MetricsTextfileError: Error, CustomStringConvertible {
    case cannotWrite(path: String, reason: String)

    var description: String {
        switch self {
        case .cannotWrite(let path, let reason):
            return "cannot write metrics to \(path): \(reason) (does the directory exist and can the gatewayd user write to it?)"
        }
    }
}
