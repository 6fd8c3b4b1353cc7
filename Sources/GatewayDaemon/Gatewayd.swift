import GatewayConfig
import GatewayModel
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// `gatewayd --config FILE`: runs until SIGTERM/SIGINT, then finishes in-flight
/// work, commits the buffer and exits 0. Exit 1: the configuration is invalid or
/// the gateway failed; 64: the command line is (EX_USAGE, as sysexits.h has it).
@main
enum Gatewayd {
    static func main() async {
        let options: DaemonCommandLine
        do {
            switch try DaemonCommandLine.parse(Array(CommandLine.arguments.dropFirst())) {
            case .help: print(DaemonCommandLine.help, terminator: ""); return
            case .version: print(GatewayVersion.string); return
            case .run(let o): options = o
            }
        } catch {
            StandardError.write("Error: \(error)\n\(DaemonCommandLine.usage)\n  See 'gatewayd --help'.\n")
            exit(64)
        }
        exit(await run(options))
    }

    static func run(_ options: DaemonCommandLine) async -> Int32 {
        let level = options.logLevel
        LoggingSystem.bootstrap { label in
            var h = GatewayLogHandler(label: label)
            h.logLevel = level
            return h
        }
        var logger = Logger(label: "gatewayd")
        logger.logLevel = level

        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigReader.load(path: options.configPath)
        } catch {
            logger.critical("the configuration has problems; not starting", metadata: ["config": "\(options.configPath)"])
            StandardError.write("\(error)\n")
            return 1
        }
        let runtime = GatewayRuntime(configuration: configuration, clock: SystemClock(trust: configuration.gateway.clockTrust), logger: logger)
        let interval = options.metricsInterval ?? configuration.metrics.interval
        let health = HealthReporting(metricsDirectory: options.metricsTextfileDirectory ?? configuration.metrics.textfileDirectory,
                                     sampleIntervalNanoseconds: UInt64(max(1, interval.nanoseconds)))
        let service = GatewayService(runtime: runtime, configPath: options.configPath, notifier: SystemdNotifier(), health: health)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("gatewayd failed: \(error)")
            return 1
        }
        return 0
    }
}
