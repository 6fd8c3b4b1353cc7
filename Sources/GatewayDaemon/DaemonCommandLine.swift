import GatewayModel
import Logging

/// gatewayd's four options, read by hand: an argument-parsing library would
/// link FoundationEssentials into the daemon for them (about 0.8 MB resident,
/// issue #8). gatewayctl, with its many verbs, keeps swift-argument-parser.
struct DaemonCommandLine: Equatable {
    var configPath = "/etc/gatewayd/gatewayd.toml"
    var logLevel = Logger.Level.info
    var metricsTextfileDirectory: String?
    var metricsInterval: Duration?

    /// What the command line asks for.
    enum Request: Equatable {
        case run(DaemonCommandLine)
        case help
        case version
    }

    /// A command line gatewayd cannot act on, in words for whoever typed it.
    struct Problem: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    static let usage = "Usage: gatewayd [--config FILE] [--log-level LEVEL] [--metrics-textfile DIR] [--metrics-interval DURATION]"

    static let help = """
    gatewayd: edge sensor gateway. Polls Modbus and serial devices, buffers every reading in SQLite, detects leaks, forwards over MQTT.

    \(usage)

    Runs until SIGTERM or SIGINT, then stops polling, commits the buffer, waits briefly for the broker's
    acknowledgements, publishes status offline and exits 0. SIGHUP re-reads the configuration and applies it
    without closing the buffer (an invalid one is rejected and the running one stays). Under systemd
    (NOTIFY_SOCKET) it reports READY/STATUS/WATCHDOG. Logs go to stderr, one line per event.
    Check a config first with `gatewayctl config check --config FILE`.

    Options:
      -c, --config FILE            The configuration file (default: /etc/gatewayd/gatewayd.toml).
      --log-level LEVEL            trace, debug, info, notice, warning, error, critical (default: info).
      --metrics-textfile DIR       Write Prometheus metrics to DIR/gatewayd.prom for node_exporter's textfile
                                   collector (overrides metrics.textfile_dir).
      --metrics-interval DURATION  How often metrics are written and the systemd STATUS= line refreshed,
                                   e.g. 10s (overrides metrics.interval).
      --version                    Print the version and exit.
      -h, --help                   Print this help and exit.

    """

    /// Reads `arguments` (without the program name). Takes `--name value`,
    /// `--name=value` and `-c value`; a value may not be left out.
    static func parse(_ arguments: [String]) throws -> Request {
        var options = DaemonCommandLine()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            var name = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            func value() throws -> String {
                if let inlineValue { return inlineValue }
                guard let next = rest.popFirst(), !next.hasPrefix("-") || next == "-" else {
                    throw Problem(description: "\(name) needs a value")
                }
                return next
            }
            switch name {
            case "-h", "--help": return .help
            case "--version": return .version
            case "-c", "--config": options.configPath = try value()
            case "--log-level":
                let text = try value()
                guard let level = Logger.Level(rawValue: text) else {
                    throw Problem(description: "--log-level \"\(text)\" is not one of trace, debug, info, notice, warning, error, critical")
                }
                options.logLevel = level
            case "--metrics-textfile":
                let directory = try value()
                guard PlainFile.isDirectory(directory) else {
                    throw Problem(description: "--metrics-textfile \(directory): no such directory (create it, writable by the gatewayd user)")
                }
                options.metricsTextfileDirectory = directory
            case "--metrics-interval":
                let text = try value()
                guard let interval = ConfigUnits.duration(text), interval > .zero else {
                    throw Problem(description: "--metrics-interval \"\(text)\" is not a duration like 10s or 500ms")
                }
                options.metricsInterval = interval
            default:
                throw Problem(description: argument.hasPrefix("-") ? "unknown option \(name)" : "unexpected argument \"\(argument)\" (the config file goes after --config)")
            }
        }
        return .run(options)
    }
}
