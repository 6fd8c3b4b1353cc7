import ArgumentParser

/// `gatewayctl manual`: the man page, generated from the same argument
/// definitions as `--help` (so it never drifts). Hidden: it is for packaging
/// (`make install`), not for technicians.
struct ManualCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manual",
        abstract: "Print the gatewayctl(1) man page (roff) generated from the argument definitions.",
        shouldDisplay: false
    )

    @Option(name: .long, help: "Date shown in the page footer (YYYY-MM-DD).")
    var date: String = "2025-01-01"

    /// Every command reachable from the root, depth first, with its full name.
    static func commands() -> [(name: String, type: ParsableCommand.Type)] {
        var out: [(String, ParsableCommand.Type)] = []
        func walk(_ t: ParsableCommand.Type, _ prefix: String) {
            let c = t.configuration
            guard c.shouldDisplay else { return }
            let name = prefix.isEmpty ? (c.commandName ?? "gatewayctl") : prefix + " " + (c.commandName ?? "")
            out.append((name, t))
            for s in c.subcommands { walk(s, name) }
        }
        walk(GatewayCtl.self, "")
        return out
    }

    func run() throws {
        var page: [String] = []
        page.append(".TH GATEWAYCTL 1 \"\(date)\" \"gatewayd\" \"gatewayd manual\"")
        page.append(".SH NAME")
        page.append("gatewayctl \\- \(roff(GatewayCtl.configuration.abstract))")
        page.append(".SH SYNOPSIS")
        page.append(".B gatewayctl")
        page.append("\\fIVERB\\fR [\\fIOPTIONS\\fR]")
        page.append(".SH DESCRIPTION")
        page.append(roff(GatewayCtl.configuration.discussion))
        page.append(".SH COMMANDS")
        for (name, type) in ManualCommand.commands().dropFirst() {
            page.append(".SS \"\(roff(name))\"")
            page.append(".nf")
            page.append(roff(GatewayCtl.helpMessage(for: type, columns: 78)))
            page.append(".fi")
        }
        page.append(".SH EXIT STATUS")
        page.append("0 success, 1 a problem the user must fix (the message says which), 2 usage error.")
        page.append(".SH FILES")
        page.append(".TP\n/etc/gatewayd/gatewayd.toml\nthe configuration")
        page.append(".TP\n/var/lib/gatewayd/\nthe SQLite buffer, its WAL and the control socket gatewayd.sock")
        page.append(".SH SEE ALSO")
        page.append("gatewayd(8)")
        Console.out(page.joined(separator: "\n"))
    }

    /// Escapes text for roff: backslashes, and lines that would start with a control character.
    private func roff(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\e").split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : String(line)
        }.joined(separator: "\n")
    }
}
