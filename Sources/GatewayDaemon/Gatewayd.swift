import ArgumentParser
import GatewayConfig
import GatewayModel
import Logging
import ServiceLifecycle

/// `gatewayd --config FILE`: runs until SIGTERM/SIGINT, then finishes in-flight
/// work, commits the buffer and exits 0.
@main
struct Gatewayd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatewayd",
        abstract: "Edge sensor gateway: polls Modbus and serial devices, buffers every reading in SQLite, detects leaks, forwards over MQTT.",
        discussion: """
        Runs until SIGTERM or SIGINT, then stops polling, commits the buffer, waits briefly for the broker's \
        acknowledgements, publishes status offline and exits 0. SIGHUP re-reads the configuration and applies it \
        without closing the buffer (an invalid one is rejected and the running one stays). Under systemd \
        (NOTIFY_SOCKET) it reports READY/STATUS/WATCHDOG. Logs go to stderr, one line per event.
        Check a config first with `gatewayctl config check --config FILE`.
        """,
        version: GatewayVersion.string
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String = "/etc/gatewayd/gatewayd.toml"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: ArgumentHelp(
        "Write Prometheus metrics to DIR/gatewayd.prom for node_exporter's textfile collector (overrides metrics.textfile_dir).",
        valueName: "DIR"))
    var metricsTextfile: String?

    @Option(name: .long, help: ArgumentHelp("How often metrics are written and the systemd STATUS= line refreshed, e.g. 10s (overrides metrics.interval).",
                                            valueName: "DURATION"))
    var metricsInterval: String?

    func validate() throws {
        if let metricsInterval {
            guard let d = ConfigUnits.duration(metricsInterval), d > .zero else {
                throw ValidationError("--metrics-interval \"\(metricsInterval)\" is not a duration like 10s or 500ms")
            }
        }
        if let dir = metricsTextfile {
            guard PlainFile.isDirectory(dir) else {
                throw ValidationError("--metrics-textfile \(dir): no such directory (create it, writable by the gatewayd user)")
            }
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = GatewayLogHandler(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "gatewayd")
        logger.logLevel = level

        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigReader.load(path: config)
        } catch let problems as ConfigProblems {
            logger.critical("the configuration has problems; not starting", metadata: ["config": "\(config)"])
            StandardError.write(problems.description + "\n")
            throw ExitCode(1)
        }
        let runtime = GatewayRuntime(configuration: configuration, clock: SystemClock(trust: configuration.gateway.clockTrust), logger: logger)
        let interval = metricsInterval.flatMap(ConfigUnits.duration) ?? configuration.metrics.interval
        let health = HealthReporting(metricsDirectory: metricsTextfile ?? configuration.metrics.textfileDirectory,
                                     sampleIntervalNanoseconds: UInt64(max(1, interval.nanoseconds)))
        let service = GatewayService(runtime: runtime, configPath: config, notifier: SystemdNotifier(), health: health)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("gatewayd failed: \(error)")
            throw ExitCode(1)
        }
    }
}
