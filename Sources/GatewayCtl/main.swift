import ArgumentParser

/// `gatewayctl`: the local CLI for technicians and maintainers.
/// Exit codes: 0 success, 1 a problem the user must fix, 2 usage error.
struct GatewayCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatewayctl",
        abstract: "Commission, inspect and test a gatewayd box.",
        subcommands: [DetectCommand.self]
    )
}

GatewayCtl.main()
