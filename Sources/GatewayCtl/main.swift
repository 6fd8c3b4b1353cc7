import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `gatewayctl`: the local CLI for technicians and maintainers.
/// Exit codes: 0 success, 1 a problem the user must fix, 2 usage error.
struct GatewayCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatewayctl",
        abstract: "Commission, inspect and test a gatewayd box.",
        discussion: """
        Every verb reads the gatewayd configuration (--config, default /etc/gatewayd/gatewayd.toml) \
        and, where it prints data, takes --json for machines. gatewayctl works while gatewayd runs \
        and never blocks it: it reads the buffer over its own read-only connection, and polls and \
        probes go through the daemon's bus owner when the daemon owns that line.

        Exit codes: 0 success, 1 a problem you must fix (the message says which), 2 usage error.
        """,
        subcommands: [ConfigCommand.self, PollCommand.self, ProbeCommand.self, StatusCommand.self, BufferCommand.self,
                      AlarmsCommand.self, AuditCommand.self, DetectCommand.self, VerifyCommand.self, ManualCommand.self]
    )
}

// Usage errors exit 2 (ArgumentParser's default is 64); problems the user must fix exit 1.
do {
    var command = try GatewayCtl.parseAsRoot()
    try command.run()
} catch let failure as CtlFailure {
    Console.err("error: " + failure.message)
    exit(1)
} catch {
    let code = GatewayCtl.exitCode(for: error)
    if code == .success {
        GatewayCtl.exit(withError: error)  // --help, --version: print and exit 0
    }
    if error is ValidationError || code == .validationFailure {
        Console.err(GatewayCtl.fullMessage(for: error))
        exit(2)
    }
    if code == .failure, !(error is ExitCode) {
        Console.err("error: \(GatewayCtl.fullMessage(for: error))")
        exit(1)
    }
    GatewayCtl.exit(withError: error)
}
