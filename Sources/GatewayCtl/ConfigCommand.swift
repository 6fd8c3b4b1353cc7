import ArgumentParser
import GatewayConfig
import GatewayModel

/// `gatewayctl config check|show`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Validate or show the configuration.",
        subcommands: [ConfigCheck.self, ConfigShow.self]
    )
}

/// `config check`: the same reader as the daemon's start and reload.
struct ConfigCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file.",
        discussion: """
        Reads the file with the same reader gatewayd uses at start and on reload. \
        Exit 0 when it is valid; otherwise exit 1 and print every problem, one per line, \
        as FILE:LINE: key: message. Unknown keys are problems (a typo must not be ignored).
        """
    )

    @OptionGroup var common: CommonOptions
    @Flag(name: .long, help: "Print the result as JSON ({\"valid\":…, \"problems\":[…]}).")
    var json = false

    struct Report: Encodable {
        struct Problem: Encodable { var file: String; var line: Int; var key: String; var message: String }
        var file: String
        var valid: Bool
        var problems: [Problem]
        var buses: Int?
        var devices: Int?
        var detectors: Int?
    }

    func run() throws {
        do {
            let c = try ConfigReader.load(path: common.config)
            if json {
                try Console.json(Report(file: common.config, valid: true, problems: [], buses: c.buses.count,
                                        devices: c.devices.count, detectors: c.detectors.count))
            } else {
                let points = c.devices.reduce(0) { $0 + $1.points.count }
                Console.out("\(common.config): valid (gateway \(c.gateway.id): \(c.buses.count) buses, \(c.devices.count) devices, \(points) points, \(c.detectors.count) detectors)")
            }
        } catch let problems as ConfigProblems {
            if json {
                try Console.json(Report(file: common.config, valid: false, problems: problems.problems.map {
                    .init(file: $0.file, line: $0.line, key: $0.key, message: $0.message)
                }))
            } else {
                for p in problems.problems { Console.err(p.description) }
                Console.err("\(common.config): \(problems.problems.count) problem\(problems.problems.count == 1 ? "" : "s")")
            }
            throw ExitCode(1)
        }
    }
}

/// `config show`: the effective configuration.
struct ConfigShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the effective configuration, defaults filled in, secrets masked.",
        discussion: "The output is valid TOML that gatewayd reads back to the same configuration."
    )

    @OptionGroup var common: CommonOptions

    func run() throws {
        let c = try common.load()
        Console.out(ConfigRenderer.render(c))
    }
}
